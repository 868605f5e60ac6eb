import type { TargetEntry } from "../lib/targets";

/** The image's predictions (by score) and ground-truth boxes at one epoch. */
export function TargetList({ entries, selected, onSelect }: {
  entries: TargetEntry[];
  selected?: string;
  onSelect: (key: string) => void;
}) {
  const dets = entries.filter((e) => e.kind === "det");
  const gts = entries.filter((e) => e.kind === "gt");
  const row = (e: TargetEntry) => (
    <li key={e.key}>
      <button className={`target ${e.key === selected ? "sel" : ""}`} onClick={() => onSelect(e.key)}
        data-testid="target" data-key={e.key}>
        <span className={`tag t-${e.label}`}>{e.label === "none" ? "–" : e.label}</span>
        <span>{e.className}</span>
        {e.score !== undefined && <span className="muted">{e.score.toFixed(2)}</span>}
        <span className="muted key">{e.key}</span>
      </button>
    </li>
  );
  return (
    <div className="targets">
      <h4>Predictions ({dets.length})</h4>
      {dets.length ? <ul>{dets.map(row)}</ul> : <p className="muted">No detections at this epoch.</p>}
      <h4>Ground truth ({gts.length})</h4>
      {gts.length ? <ul>{gts.map(row)}</ul> : <p className="muted">No ground-truth boxes.</p>}
    </div>
  );
}
