/** TanStack Query hooks, one per API read; keys mirror the URL paths. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, qs } from "./client";
import type {
  AppConfig, Checkpoint, Dataset, ErrorPage, HeatmapList, ImageDetail, Job, Run, Series,
  WatchedFolder,
} from "./types";

const ACTIVE = new Set(["queued", "running"]);

/** Lists may come bare or wrapped in `{items}`; both read as an array. */
function items<T>(body: T[] | { items: T[] }): T[] {
  return Array.isArray(body) ? body : body.items;
}

export const useConfig = () =>
  useQuery({ queryKey: ["config"], queryFn: () => api<AppConfig>("/api/config"),
    staleTime: 5 * 60_000 });

export const useDatasets = () =>
  useQuery({ queryKey: ["datasets"],
    queryFn: async () => items(await api<Dataset[] | { items: Dataset[] }>("/api/datasets")) });

export const useDataset = (id: number | undefined) =>
  useQuery({ queryKey: ["datasets", id], enabled: id !== undefined,
    queryFn: () => api<Dataset>(`/api/datasets/${id}`), staleTime: 60_000 });

export const useRuns = () =>
  useQuery({ queryKey: ["runs"],
    queryFn: async () => items(await api<Run[] | { items: Run[] }>("/api/runs")) });

export const useRun = (id: number) =>
  useQuery({ queryKey: ["runs", id], queryFn: () => api<Run>(`/api/runs/${id}`) });

export const useCheckpoints = (runId: number) =>
  useQuery({ queryKey: ["runs", runId, "checkpoints"],
    queryFn: async () =>
      items(await api<Checkpoint[] | { items: Checkpoint[] }>(`/api/runs/${runId}/checkpoints`)) });

/** Jobs poll every 1.5 s while any of them is queued or running. */
export const useJobs = (runId?: number) =>
  useQuery({
    queryKey: ["jobs", runId ?? "all"],
    queryFn: async () =>
      items(await api<Job[] | { items: Job[] }>(`/api/jobs${qs({ run_id: runId })}`)),
    refetchInterval: (q) => (q.state.data?.some((j) => ACTIVE.has(j.state)) ? 1500 : 10_000),
  });

export const useWatches = (runId: number) =>
  useQuery({ queryKey: ["runs", runId, "watch"],
    queryFn: async () =>
      items(await api<WatchedFolder[] | { items: WatchedFolder[] }>(`/api/runs/${runId}/watch`)),
    refetchInterval: 10_000 });

export const useSeries = (runId: number, poll = false) =>
  useQuery({ queryKey: ["runs", runId, "series"],
    queryFn: () => api<Series>(`/api/runs/${runId}/series`),
    refetchInterval: poll ? 3000 : false });

export interface ErrorQuery {
  epoch: number;
  type: string;
  classId?: number;
  cursor?: string;
  limit?: number;
}

export const useErrors = (runId: number, q: ErrorQuery | null) =>
  useQuery({
    queryKey: ["runs", runId, "errors", q],
    enabled: q !== null,
    placeholderData: keepPreviousData,
    queryFn: () => api<ErrorPage>(`/api/runs/${runId}/errors${qs({
      epoch: q!.epoch, type: q!.type, class_id: q!.classId, cursor: q!.cursor,
      limit: q!.limit ?? 24,
    })}`),
  });

export const useImageDetail = (runId: number, imageId: number) =>
  useQuery({ queryKey: ["runs", runId, "images", imageId],
    queryFn: () => api<ImageDetail>(`/api/runs/${runId}/images/${imageId}`) });

export interface HeatmapQuery {
  imageId: number;
  target: string;
  epochs: number[];
  layers: string[];
  method: string;
}

/** Heatmaps poll every 1.5 s while any requested map is still pending. */
export const useHeatmaps = (runId: number, q: HeatmapQuery | null) =>
  useQuery({
    queryKey: ["runs", runId, "heatmaps", q],
    enabled: q !== null && q.epochs.length > 0 && q.layers.length > 0,
    placeholderData: keepPreviousData,
    queryFn: () => api<HeatmapList>(`/api/runs/${runId}/heatmaps${qs({
      image_id: q!.imageId, target: q!.target, epochs: q!.epochs.join(","),
      layers: q!.layers.join(","), method: q!.method,
    })}`),
    refetchInterval: (query) =>
      query.state.data?.items.some((m) => m.status === "pending") ? 1500 : false,
  });
