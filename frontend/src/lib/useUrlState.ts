/** Binds a typed view state to the router's search params. */
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";

export function useUrlState<S>(
  parse: (sp: URLSearchParams) => S,
  serialize: (s: S) => URLSearchParams,
): [S, (patch: Partial<S>, opts?: { replace?: boolean; state?: unknown }) => void] {
  const [sp, setSp] = useSearchParams();
  const state = useMemo(() => parse(sp), [sp, parse]);
  const update = useCallback(
    (patch: Partial<S>, opts?: { replace?: boolean; state?: unknown }) => {
      setSp((prev) => serialize({ ...parse(prev), ...patch }), opts);
    },
    [setSp, parse, serialize],
  );
  return [state, update];
}
