import { describe, expect, it } from "vitest";
import {
  epochFromFileName, parseImageState, parseRunState, parseTarget, resolveEpoch,
  serializeImageState, serializeRunState,
} from "./urlState";

const sp = (s: string) => new URLSearchParams(s);

describe("run view state", () => {
  it("reads every field", () => {
    expect(parseRunState(sp("epoch=4&type=Bkg&metric=dap&chart=lines&class=2&cursor=abc&hidden=Cls,ap50")))
      .toEqual({ epoch: 4, type: "Bkg", metric: "dap", chart: "lines", classId: 2, cursor: "abc",
        hidden: ["Cls", "ap50"] });
  });

  it("falls back to defaults on malformed values", () => {
    expect(parseRunState(sp("epoch=4x&type=Oops&metric=avg&chart=pie&class=&hidden=")))
      .toEqual({ epoch: undefined, type: undefined, metric: "count", chart: "area",
        classId: undefined, cursor: undefined, hidden: [] });
  });

  it("round-trips and leaves defaults out", () => {
    const s = parseRunState(sp("epoch=0&type=Miss&hidden=Loc"));
    expect(serializeRunState(s).toString()).toBe("epoch=0&type=Miss&hidden=Loc");
    expect(parseRunState(serializeRunState(s))).toEqual(s);
  });
});

describe("image view state", () => {
  it("reads target, method, layers, opacity and scale", () => {
    const s = parseImageState(sp("epoch=2&target=gt:77&method=layercam&layers=a.b,c&opacity=0.8&scale=shared"));
    expect(s).toEqual({ epoch: 2, type: undefined, target: "gt:77", method: "layercam",
      layers: ["a.b", "c"], opacity: 0.8, scale: "shared" });
  });

  it("drops a malformed target and clamps opacity", () => {
    const s = parseImageState(sp("target=det:x&opacity=7&method=magic"));
    expect(s.target).toBeUndefined();
    expect(s.opacity).toBe(1);
    expect(s.method).toBe("gradcam");
  });

  it("round-trips", () => {
    const s = parseImageState(sp("epoch=3&type=Cls&target=det:901&opacity=0.35&scale=shared"));
    expect(parseImageState(serializeImageState(s))).toEqual(s);
    expect(serializeImageState(s).get("method")).toBeNull();
  });
});

describe("helpers", () => {
  it("parses targets", () => {
    expect(parseTarget("det:12")).toEqual({ kind: "det", id: 12 });
    expect(parseTarget("gt:3")).toEqual({ kind: "gt", id: 3 });
    expect(parseTarget("det:")).toBeUndefined();
    expect(parseTarget("box:3")).toBeUndefined();
  });

  it("resolves the epoch to an analysed one", () => {
    expect(resolveEpoch(2, [1, 2, 5])).toBe(2);
    expect(resolveEpoch(3, [1, 2, 5])).toBe(5);
    expect(resolveEpoch(undefined, [7])).toBe(7);
    expect(resolveEpoch(1, [])).toBeUndefined();
  });

  it("infers epochs from checkpoint names", () => {
    expect(epochFromFileName("epoch_003.pt")).toBe(3);
    expect(epochFromFileName("model-ep12.pth")).toBe(12);
    expect(epochFromFileName("run7/ckpt_e5.ckpt")).toBe(5);
    expect(epochFromFileName("weights_0042.pt")).toBe(42);
    expect(epochFromFileName("final.pt")).toBeUndefined();
  });
});
