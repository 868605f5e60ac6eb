/**
 * Targets on one image (its predictions at an epoch and its ground-truth boxes),
 * their error labels, and one object's label across epochs.
 */
import type { Box, Detection, ErrorType, GroundTruth, ImageDetail, ImageEpoch } from "../api/types";
import { parseTarget } from "./urlState";

/** Label of a target at an epoch: an error type, TP (matched, no error) or none. */
export type Label = ErrorType | "TP" | "none";

export interface TargetEntry {
  key: string; // det:<id> | gt:<id>
  kind: "det" | "gt";
  bbox: Box;
  categoryId: number;
  className: string;
  score?: number;
  label: Label;
}

/** Intersection over union of two xywh boxes. */
export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

function errorDetId(e: ImageEpoch["errors"][number]): number | null | undefined {
  return e.detection_id ?? e.pred?.detection_id;
}

function errorGtId(e: ImageEpoch["errors"][number]): number | null | undefined {
  return e.gt_id ?? e.gt?.id;
}

/** Label of one detection at its epoch: its error type, or TP when it has none. */
export function detectionLabel(det: Detection, ep: ImageEpoch): Label {
  const err = ep.errors.find((e) => errorDetId(e) === det.id);
  return err ? err.type : "TP";
}

/**
 * Label of a ground-truth box at an epoch: Miss when TIDE says so, TP when a
 * same-class detection covers it at IoU >= 0.5 with no error, otherwise none.
 */
export function groundTruthLabel(gt: GroundTruth, ep: ImageEpoch): Label {
  const miss = ep.errors.find((e) => e.type === "Miss" && errorGtId(e) === gt.id);
  if (miss) return "Miss";
  const tp = ep.detections.some((d) => d.category_id === gt.category_id
    && iou(d.bbox, gt.bbox) >= 0.5 && detectionLabel(d, ep) === "TP");
  return tp ? "TP" : "none";
}

export function classNameOf(detail: ImageDetail, categoryId: number, given?: string): string {
  if (given) return given;
  const gt = detail.ground_truth.find((g) => g.category_id === categoryId && g.class_name);
  return gt?.class_name ?? `class ${categoryId}`;
}

/** Every target at one epoch: predictions by score, then ground-truth boxes. */
export function targetsAt(detail: ImageDetail, epoch: number | undefined): TargetEntry[] {
  const ep = detail.epochs.find((e) => e.epoch === epoch);
  const dets: TargetEntry[] = ep
    ? [...ep.detections].sort((a, b) => b.score - a.score).map((d) => ({
      key: `det:${d.id}`, kind: "det", bbox: d.bbox, categoryId: d.category_id,
      className: classNameOf(detail, d.category_id, d.class_name), score: d.score,
      label: detectionLabel(d, ep),
    }))
    : [];
  const gts: TargetEntry[] = detail.ground_truth.map((g) => ({
    key: `gt:${g.id}`, kind: "gt", bbox: g.bbox, categoryId: g.category_id,
    className: classNameOf(detail, g.category_id, g.class_name),
    label: ep ? groundTruthLabel(g, ep) : "none",
  }));
  return [...dets, ...gts];
}

/** The box and class a target URL value names, looked up over all epochs. */
export function findTarget(detail: ImageDetail, target: string | undefined):
  { kind: "det" | "gt"; bbox: Box; categoryId: number; epoch?: number } | undefined {
  const t = parseTarget(target);
  if (!t) return undefined;
  if (t.kind === "gt") {
    const g = detail.ground_truth.find((x) => x.id === t.id);
    return g && { kind: "gt", bbox: g.bbox, categoryId: g.category_id };
  }
  for (const ep of detail.epochs) {
    const d = ep.detections.find((x) => x.id === t.id);
    if (d) return { kind: "det", bbox: d.bbox, categoryId: d.category_id, epoch: ep.epoch };
  }
  return undefined;
}

/**
 * The object's label at every epoch. A detection at another epoch is a different
 * row, so the object is followed by its box: a ground-truth target reads its own
 * label; a prediction target takes, at each epoch, the detection overlapping its
 * box most (IoU >= 0.5), and is `none` where no detection does.
 */
export function trajectory(detail: ImageDetail, target: string | undefined):
  { epoch: number; label: Label }[] {
  const t = parseTarget(target);
  const found = findTarget(detail, target);
  const epochs = [...detail.epochs].sort((a, b) => a.epoch - b.epoch);
  if (!t || !found) return epochs.map((ep) => ({ epoch: ep.epoch, label: "none" }));
  return epochs.map((ep) => {
    if (t.kind === "gt") {
      const gt = detail.ground_truth.find((g) => g.id === t.id)!;
      return { epoch: ep.epoch, label: groundTruthLabel(gt, ep) };
    }
    const same = ep.detections.find((d) => d.id === t.id);
    let best = same;
    if (!best) {
      let bestIou = 0.5;
      for (const d of ep.detections) {
        const v = iou(d.bbox, found.bbox);
        if (v >= bestIou) { best = d; bestIou = v; }
      }
    }
    return { epoch: ep.epoch, label: best ? detectionLabel(best, ep) : "none" };
  });
}
