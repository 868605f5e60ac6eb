import { describe, expect, it } from "vitest";
import { jet, levelTable, rawFromLevel, recolour, sharedRange } from "./colorScale";

describe("colour scale", () => {
  it("maps stored levels back to raw values", () => {
    expect(rawFromLevel(0, { min: -2, max: 3 })).toBe(-2);
    expect(rawFromLevel(255, { min: -2, max: 3 })).toBe(3);
    expect(rawFromLevel(51, { min: 0, max: 5 })).toBeCloseTo(1);
  });

  it("per-map scale is level / 255", () => {
    const t = levelTable({ min: 4, max: 8 });
    expect(t[0]).toBe(0);
    expect(t[255]).toBe(1);
    expect(t[51]).toBeCloseTo(0.2);
  });

  it("shared scale places a weaker map lower", () => {
    const shared = sharedRange([{ min: 0, max: 2 }, { min: 0, max: 8 }])!;
    expect(shared).toEqual({ min: 0, max: 8 });
    const weak = levelTable({ min: 0, max: 2 }, shared);
    const strong = levelTable({ min: 0, max: 8 }, shared);
    expect(weak[255]).toBeCloseTo(0.25);
    expect(strong[255]).toBe(1);
    expect(weak[0]).toBe(0);
  });

  it("a flat map or flat shared range draws at 0, never NaN", () => {
    expect([...levelTable({ min: 3, max: 3 })].every((v) => v === 0)).toBe(true);
    const t = levelTable({ min: 1, max: 1 }, { min: 1, max: 1 });
    expect([...t].every((v) => v === 0)).toBe(true);
  });

  it("ignores non-finite ranges and empty lists", () => {
    expect(sharedRange([])).toBeUndefined();
    expect(sharedRange([{ min: NaN, max: 1 }, { min: -1, max: 0.5 }])).toEqual({ min: -1, max: 0.5 });
  });

  it("jet runs from dark blue to dark red", () => {
    expect(jet(0)).toEqual([0, 0, 128]);
    expect(jet(1)).toEqual([128, 0, 0]);
    expect(jet(0.5)).toEqual([128, 255, 128]);
  });

  it("recolours the red channel and makes pixels opaque", () => {
    const px = new Uint8ClampedArray([0, 0, 0, 0, 255, 255, 255, 10]);
    recolour(px, levelTable({ min: 0, max: 1 }));
    expect([...px]).toEqual([0, 0, 128, 255, 128, 0, 0, 255]);
  });
});
