/** Small hand-written API payloads for component tests (shapes from docs/ARCHITECTURE.md). */
import type { EpochSummary, ErrorItem, ImageDetail } from "../api/types";

export const series: EpochSummary[] = [
  { epoch: 3, ap50: 40.5, dap: { Cls: 1.5, Loc: 4, Both: 0.1, Dupe: 0, Bkg: 2, Miss: 6 },
    counts: { Cls: 4, Loc: 9, Both: 1, Dupe: 0, Bkg: 12, Miss: 20 } },
  { epoch: 1, ap50: null, dap: {}, counts: {} },
  { epoch: 2, ap50: 21.25, dap: { Cls: 2, Loc: 5 }, counts: { Cls: 7, Loc: 11, Miss: 30 } },
];

export const errorItem: ErrorItem = {
  id: 11, epoch: 3, type: "Cls",
  image: { id: 5, file_name: "BloodImage_00005.jpg", width: 640, height: 480,
    url: "/img/5.jpg", thumbnail_url: "/img/5-thumb.jpg" },
  pred: { detection_id: 901, bbox: [10, 20, 100, 50], category_id: 2, class_name: "RBC", score: 0.8765 },
  gt: { id: 77, bbox: [12, 22, 96, 48], category_id: 3, class_name: "WBC" },
  iou: 0.8123,
};

export const imageDetail: ImageDetail = {
  image: errorItem.image,
  ground_truth: [
    { id: 77, bbox: [12, 22, 96, 48], category_id: 3, class_name: "WBC" },
    { id: 78, bbox: [300, 300, 40, 40], category_id: 2, class_name: "RBC" },
  ],
  epochs: [
    { epoch: 1, detections: [], errors: [
      { id: 1, type: "Miss", gt_id: 77 }, { id: 2, type: "Miss", gt_id: 78 }] },
    { epoch: 2, detections: [
      { id: 500, bbox: [11, 21, 98, 49], category_id: 3, score: 0.6 },
      { id: 501, bbox: [300, 300, 40, 40], category_id: 2, score: 0.9 }],
    errors: [] },
    { epoch: 3, detections: [
      { id: 901, bbox: [10, 20, 100, 50], category_id: 2, class_name: "RBC", score: 0.8765 }],
    errors: [{ id: 11, type: "Cls", detection_id: 901, gt_id: 77, iou: 0.81 },
      { id: 12, type: "Miss", gt_id: 78 }] },
  ],
};
