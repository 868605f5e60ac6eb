import { ERROR_TYPES, type EpochSummary, type ErrorType } from "../api/types";
import { TYPE_COLORS, TYPE_NAMES } from "../lib/chartData";

/** One button per error type, with its count (and dAP) at the selected epoch. */
export function TypeSelector({ summary, value, onChange }: {
  summary?: EpochSummary;
  value: ErrorType;
  onChange: (t: ErrorType) => void;
}) {
  return (
    <div className="type-selector" role="radiogroup" aria-label="error type">
      {ERROR_TYPES.map((t) => {
        const count = summary?.counts?.[t] ?? 0;
        const dap = summary?.dap?.[t];
        return (
          <button key={t} role="radio" aria-checked={t === value} data-type={t}
            className={`type-btn ${t === value ? "active" : ""}`} onClick={() => onChange(t)}
            style={{ borderColor: TYPE_COLORS[t], ...(t === value ? { background: TYPE_COLORS[t] } : {}) }}
            title={TYPE_NAMES[t]}>
            <b>{t}</b> <span className="count">{count}</span>
            {dap !== undefined && <span className="dap">dAP {dap.toFixed(2)}</span>}
          </button>
        );
      })}
    </div>
  );
}
