import { useEffect, useState } from "react";
import { nearestEpoch } from "../lib/chartData";

/**
 * Picks one of the analysed epochs (which need not be contiguous): drag or use the
 * arrow keys on the slider (it moves by index), or type an epoch number; a typed
 * number snaps to the nearest analysed epoch.
 */
export function EpochSlider({ epochs, value, onChange }: {
  epochs: number[];
  value: number;
  onChange: (epoch: number) => void;
}) {
  const index = Math.max(0, epochs.indexOf(value));
  const [typed, setTyped] = useState(String(value));
  useEffect(() => setTyped(String(value)), [value]);
  const commit = () => {
    const n = Number(typed);
    const e = Number.isFinite(n) && typed.trim() !== "" ? nearestEpoch(n, epochs) : undefined;
    if (e !== undefined && e !== value) onChange(e);
    else setTyped(String(value));
  };
  return (
    <div className="epoch-slider">
      <button aria-label="previous epoch" disabled={index <= 0} onClick={() => onChange(epochs[index - 1])}>◀</button>
      <input type="range" min={0} max={Math.max(0, epochs.length - 1)} step={1} value={index}
        aria-label="epoch slider" aria-valuetext={`epoch ${value}`} disabled={epochs.length < 2}
        onChange={(e) => onChange(epochs[Number(e.target.value)])} />
      <button aria-label="next epoch" disabled={index >= epochs.length - 1} onClick={() => onChange(epochs[index + 1])}>▶</button>
      <label>
        epoch{" "}
        <input className="epoch-input" aria-label="epoch number" inputMode="numeric" value={typed}
          onChange={(e) => setTyped(e.target.value)} onBlur={commit}
          onKeyDown={(e) => { if (e.key === "Enter") commit(); }} />
      </label>
      <span className="muted">{epochs.length} analysed ({epochs[0]}–{epochs[epochs.length - 1]})</span>
    </div>
  );
}
