/** Shapes the per-epoch series into rows for the error-evolution chart. */
import { ERROR_TYPES, type EpochSummary, type ErrorType } from "../api/types";
import type { Metric } from "./urlState";

export const TYPE_COLORS: Record<ErrorType, string> = {
  Cls: "#d62728",
  Loc: "#ff7f0e",
  Both: "#9467bd",
  Dupe: "#8c564b",
  Bkg: "#17becf",
  Miss: "#1f77b4",
};

export const TYPE_NAMES: Record<ErrorType, string> = {
  Cls: "Classification",
  Loc: "Localisation",
  Both: "Cls + Loc",
  Dupe: "Duplicate",
  Bkg: "Background",
  Miss: "Missed",
};

export type ChartRow = { epoch: number; ap50: number | null } & Record<ErrorType, number>;

/**
 * One row per analysed epoch, sorted by epoch: the six error types as counts or dAP
 * (AP points) plus AP50. Missing values read as 0 (an epoch with no detections has
 * no errors of prediction types), AP50 stays null when unknown.
 */
export function toChartRows(epochs: EpochSummary[], metric: Metric): ChartRow[] {
  return [...epochs]
    .sort((a, b) => a.epoch - b.epoch)
    .map((e) => {
      const source = metric === "count" ? e.counts : e.dap;
      const row = { epoch: e.epoch, ap50: finiteOrNull(e.ap50) } as ChartRow;
      for (const t of ERROR_TYPES) row[t] = finiteOrNull(source?.[t]) ?? 0;
      return row;
    });
}

function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Toggles one series in the hidden list, keeping the list in ERROR_TYPES order. */
export function toggleHidden(hidden: string[], key: string): string[] {
  const set = new Set(hidden);
  if (set.has(key)) set.delete(key);
  else set.add(key);
  const order = [...ERROR_TYPES, "ap50"] as string[];
  return [...set].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** The epoch nearest to a clicked x value (chart clicks can land between points). */
export function nearestEpoch(x: number, epochs: number[]): number | undefined {
  let best: number | undefined;
  for (const e of epochs) {
    if (best === undefined || Math.abs(e - x) < Math.abs(best - x)) best = e;
  }
  return best;
}
