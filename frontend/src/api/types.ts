/** Shapes of the TideLens HTTP API (docs/ARCHITECTURE.md). Boxes are COCO xywh pixels. */

export const ERROR_TYPES = ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export const METHODS = ["gradcam", "gradcampp", "layercam", "scorecam", "eigencam"] as const;
export type Method = (typeof METHODS)[number];

export type Box = [number, number, number, number];

export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export interface Architecture {
  name: string;
  layers: string[];
  description?: string;
}

export interface AppConfig {
  auth_required: boolean;
  architectures: Architecture[];
  methods: string[];
}

export interface Category {
  id: number;
  name: string;
}

export interface Dataset {
  id: number;
  name: string;
  categories: Category[];
  image_count: number;
  dropped?: unknown[];
  created_at?: string;
}

export interface Run {
  id: number;
  name: string;
  dataset_id: number;
  architecture: string;
  classes?: string[];
  created_at?: string;
  checkpoint_count?: number;
  /** The latest analysed epoch, when there is one. */
  latest?: { epoch: number; ap50: number | null } | null;
}

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface Job {
  id: number;
  kind: string;
  state: JobState;
  stage?: string | null;
  done?: number | null;
  total?: number | null;
  error?: string | null;
  timings?: Record<string, number> | null;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
  run_id?: number | null;
  epoch?: number | null;
}

export interface Checkpoint {
  id: number;
  run_id: number;
  epoch: number;
  sha256?: string;
  size?: number;
}

export interface EpochSummary {
  epoch: number;
  checkpoint_id?: number | null;
  ap50: number | null;
  ap50_95?: number | null;
  dap: Partial<Record<ErrorType, number>>;
  dap_special?: Record<string, number>;
  counts: Partial<Record<ErrorType, number>>;
  detections?: number;
}

export interface Series {
  epochs: EpochSummary[];
}

export interface ImageRef {
  id: number;
  file_name: string;
  width: number;
  height: number;
  url: string;
  thumbnail_url?: string;
}

export interface PredRef {
  detection_id: number;
  bbox: Box;
  category_id: number;
  class_name?: string;
  score: number;
}

export interface GtRef {
  id: number;
  bbox: Box;
  category_id: number;
  class_name?: string;
}

export interface ErrorItem {
  id: number;
  epoch: number;
  type: ErrorType;
  image: ImageRef;
  pred: PredRef | null;
  gt: GtRef | null;
  iou: number | null;
}

export interface ErrorPage {
  items: ErrorItem[];
  next_cursor: string | null;
  total: number;
}

export interface Detection {
  id: number;
  bbox: Box;
  category_id: number;
  class_name?: string;
  score: number;
}

export interface GroundTruth {
  id: number;
  bbox: Box;
  category_id: number;
  class_name?: string;
  iscrowd?: boolean;
}

/** One TIDE error on an image at one epoch, as the image endpoint lists it. */
export interface ImageError {
  id: number;
  type: ErrorType;
  detection_id?: number | null;
  gt_id?: number | null;
  iou?: number | null;
  pred?: PredRef | null;
  gt?: GtRef | null;
}

export interface ImageEpoch {
  epoch: number;
  detections: Detection[];
  errors: ImageError[];
}

export interface ImageDetail {
  image: ImageRef;
  ground_truth: GroundTruth[];
  epochs: ImageEpoch[];
}

export type HeatmapStatus = "ready" | "pending" | "failed";

export interface HeatmapItem {
  epoch: number;
  layer: string;
  method: string;
  status: HeatmapStatus;
  url: string | null;
  min: number | null;
  max: number | null;
  width: number | null;
  height: number | null;
  error?: string | null;
}

export interface HeatmapList {
  items: HeatmapItem[];
}

/** A server folder the app scans for new checkpoints of a run. */
export interface WatchedFolder {
  id: number;
  run_id: number;
  path: string;
  active: boolean;
  files_seen: number;
  last_scan_at: string | null;
}
