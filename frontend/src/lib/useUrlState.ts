/** Binds a typed view state to the router's search params. */
import { useCallback, useMemo, useRef } from "react";
import { useSearchParams } from "react-router";

export function useUrlState<S>(
  parse: (sp: URLSearchParams) => S,
  serialize: (s: S) => URLSearchParams,
): [S, (patch: Partial<S>, opts?: { replace?: boolean; state?: unknown }) => void] {
  const [sp, setSp] = useSearchParams();
  const state = useMemo(() => parse(sp), [sp, parse]);
  // Several updates in one event (a legend click that also reaches the chart) must
  // build on each other, not on the params of the last render.
  const pending = useRef<URLSearchParams>(sp);
  const seen = useRef<URLSearchParams>(sp);
  if (seen.current !== sp) {
    seen.current = sp;
    pending.current = sp;
  }
  const update = useCallback(
    (patch: Partial<S>, opts?: { replace?: boolean; state?: unknown }) => {
      const next = serialize({ ...parse(pending.current), ...patch });
      pending.current = next;
      setSp(next, opts);
    },
    [setSp, parse, serialize],
  );
  return [state, update];
}
