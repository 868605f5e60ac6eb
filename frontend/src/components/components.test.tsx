import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";
import { captureTokenFromHash, getToken } from "../api/token";
import { errorItem, series } from "../test/fixtures";
import { EpochSlider } from "./EpochSlider";
import { ErrorCard, targetOf } from "./ErrorGrid";
import { TypeSelector } from "./TypeSelector";

afterEach(cleanup);

describe("TypeSelector", () => {
  it("shows counts at the epoch and reports a choice", () => {
    const onChange = vi.fn();
    render(<TypeSelector summary={series[0]} value="Cls" onChange={onChange} />);
    const bkg = screen.getByRole("radio", { name: /Bkg/ });
    expect(bkg.textContent).toContain("12");
    expect(screen.getByRole("radio", { name: /Cls/ }).getAttribute("aria-checked")).toBe("true");
    fireEvent.click(bkg);
    expect(onChange).toHaveBeenCalledWith("Bkg");
  });

  it("shows zeros for an epoch without summary values", () => {
    render(<TypeSelector summary={series[1]} value="Miss" onChange={() => {}} />);
    expect(screen.getAllByRole("radio").map((b) => b.querySelector(".count")?.textContent))
      .toEqual(["0", "0", "0", "0", "0", "0"]);
  });
});

describe("ErrorCard", () => {
  it("draws prediction and ground truth in image pixels and shows the details", () => {
    const { container } = render(
      <MemoryRouter><ErrorCard item={errorItem} href="/runs/1/images/5?target=det:901" /></MemoryRouter>);
    const svg = container.querySelector("svg")!;
    expect(svg.getAttribute("viewBox")).toBe("0 0 640 480");
    const rects = [...svg.querySelectorAll("rect")].map((r) => r.getAttribute("x"));
    expect(rects).toEqual(["12", "10"]);
    const info = container.querySelector(".hover-info")!.textContent;
    expect(info).toContain("0.88");
    expect(info).toContain("0.81");
    expect(info).toContain("RBC");
    expect(info).toContain("WBC");
    expect(container.querySelector("a")!.getAttribute("href")).toBe("/runs/1/images/5?target=det:901");
  });

  it("opens a missed box as a ground-truth target", () => {
    expect(targetOf({ ...errorItem, type: "Miss", pred: null })).toBe("gt:77");
    expect(targetOf(errorItem)).toBe("det:901");
  });
});

describe("EpochSlider", () => {
  it("moves by index and snaps typed numbers to analysed epochs", () => {
    const onChange = vi.fn();
    render(<EpochSlider epochs={[1, 2, 5, 10]} value={2} onChange={onChange} />);
    fireEvent.change(screen.getByLabelText("epoch slider"), { target: { value: "3" } });
    expect(onChange).toHaveBeenLastCalledWith(10);
    fireEvent.click(screen.getByLabelText("next epoch"));
    expect(onChange).toHaveBeenLastCalledWith(5);
    const typed = screen.getByLabelText("epoch number");
    fireEvent.change(typed, { target: { value: "6" } });
    fireEvent.keyDown(typed, { key: "Enter" });
    expect(onChange).toHaveBeenLastCalledWith(5);
  });

  it("works with a single epoch", () => {
    render(<EpochSlider epochs={[4]} value={4} onChange={() => {}} />);
    expect((screen.getByLabelText("epoch slider") as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByLabelText("previous epoch") as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("token from the address", () => {
  it("stores #token and strips it from the URL", () => {
    window.history.replaceState(null, "", "/runs/1?epoch=2#token=s3cret&x=1");
    captureTokenFromHash();
    expect(getToken()).toBe("s3cret");
    expect(window.location.pathname + window.location.search + window.location.hash)
      .toBe("/runs/1?epoch=2#x=1");
  });
});
