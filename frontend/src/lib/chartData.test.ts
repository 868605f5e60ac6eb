import { describe, expect, it } from "vitest";
import { series } from "../test/fixtures";
import { nearestEpoch, toChartRows, toggleHidden } from "./chartData";

describe("toChartRows", () => {
  it("sorts by epoch and fills missing types with 0", () => {
    const rows = toChartRows(series, "count");
    expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(rows[0]).toEqual({ epoch: 1, ap50: null, Cls: 0, Loc: 0, Both: 0, Dupe: 0, Bkg: 0, Miss: 0 });
    expect(rows[1]).toMatchObject({ Cls: 7, Loc: 11, Both: 0, Miss: 30, ap50: 21.25 });
  });

  it("switches to dAP", () => {
    const rows = toChartRows(series, "dap");
    expect(rows[2]).toMatchObject({ Cls: 1.5, Loc: 4, Bkg: 2, Miss: 6, ap50: 40.5 });
  });

  it("handles an empty series and a single epoch", () => {
    expect(toChartRows([], "count")).toEqual([]);
    expect(toChartRows([series[0]], "count")).toHaveLength(1);
  });

  it("does not mutate its input order", () => {
    const before = series.map((s) => s.epoch);
    toChartRows(series, "count");
    expect(series.map((s) => s.epoch)).toEqual(before);
  });
});

describe("legend and clicks", () => {
  it("toggles hidden series in a stable order", () => {
    expect(toggleHidden([], "Miss")).toEqual(["Miss"]);
    expect(toggleHidden(["Miss", "ap50"], "Cls")).toEqual(["Cls", "Miss", "ap50"]);
    expect(toggleHidden(["Cls", "Miss"], "Cls")).toEqual(["Miss"]);
  });

  it("snaps a click to the nearest epoch", () => {
    expect(nearestEpoch(2.4, [1, 2, 5])).toBe(2);
    expect(nearestEpoch(4, [1, 2, 5])).toBe(5);
    expect(nearestEpoch(3, [])).toBeUndefined();
  });
});
