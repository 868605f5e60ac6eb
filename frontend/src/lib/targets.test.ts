import { describe, expect, it } from "vitest";
import { imageDetail } from "../test/fixtures";
import { iou, targetsAt, trajectory } from "./targets";

describe("targets", () => {
  it("computes IoU of xywh boxes", () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150);
    expect(iou([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0);
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it("lists predictions by score, then ground truth, with labels", () => {
    const t = targetsAt(imageDetail, 3);
    expect(t.map((x) => [x.key, x.label])).toEqual([["det:901", "Cls"], ["gt:77", "none"], ["gt:78", "Miss"]]);
    expect(t[0].className).toBe("RBC");
  });

  it("an epoch with no detections lists only ground truth", () => {
    const t = targetsAt(imageDetail, 1);
    expect(t.map((x) => x.key)).toEqual(["gt:77", "gt:78"]);
  });

  it("follows a prediction across epochs by its box", () => {
    expect(trajectory(imageDetail, "det:901")).toEqual([
      { epoch: 1, label: "none" }, { epoch: 2, label: "TP" }, { epoch: 3, label: "Cls" }]);
  });

  it("follows a ground-truth box", () => {
    expect(trajectory(imageDetail, "gt:78").map((s) => s.label)).toEqual(["Miss", "TP", "Miss"]);
  });

  it("an unknown target gives none everywhere", () => {
    expect(trajectory(imageDetail, "det:1").map((s) => s.label)).toEqual(["none", "none", "none"]);
  });
});
