import type { Label } from "../lib/targets";

/** This object's label at each epoch, as a row of cells; click one to go there. */
export function Trajectory({ steps, selected, onSelect }: {
  steps: { epoch: number; label: Label }[];
  selected?: number;
  onSelect: (epoch: number) => void;
}) {
  if (!steps.length) return null;
  return (
    <div className="trajectory" data-testid="trajectory" aria-label="error label per epoch">
      {steps.map((s) => (
        <button key={s.epoch} className={`cell t-${s.label} ${s.epoch === selected ? "sel" : ""}`}
          title={`epoch ${s.epoch}: ${s.label}`} onClick={() => onSelect(s.epoch)}>
          <span className="ep">{s.epoch}</span>
          <span className="lb">{s.label === "none" ? "·" : s.label}</span>
        </button>
      ))}
    </div>
  );
}
