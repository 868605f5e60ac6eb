import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { uploadWithProgress } from "../api/client";
import { epochFromFileName } from "../lib/urlState";
import { messageOf } from "./States";

interface Item {
  key: string;
  file: File;
  epoch: string;
  sent: number;
  state: "ready" | "uploading" | "done" | "failed";
  message?: string;
}

const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * Drag-and-drop (or pick) several checkpoint files; each gets an editable epoch
 * inferred from its name and its own upload progress bar.
 */
export function CheckpointUpload({ runId }: { runId: number }) {
  const qc = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);

  const patch = (key: string, p: Partial<Item>) =>
    setItems((xs) => xs.map((x) => (x.key === key ? { ...x, ...p } : x)));

  const add = (files: FileList | null) => {
    if (!files) return;
    const fresh = [...files].map((file, i) => ({
      key: `${file.name}-${file.size}-${Date.now()}-${i}`, file, sent: 0,
      epoch: String(epochFromFileName(file.name) ?? ""), state: "ready" as const,
    }));
    setItems((xs) => [...xs.filter((x) => x.state !== "done"), ...fresh]);
  };

  const uploadOne = async (it: Item) => {
    const form = new FormData();
    form.set("epoch", it.epoch);
    form.set("file", it.file);
    patch(it.key, { state: "uploading", sent: 0, message: undefined });
    try {
      await uploadWithProgress(`/api/runs/${runId}/checkpoints`, form,
        (sent) => patch(it.key, { sent })).promise;
      patch(it.key, { state: "done", sent: it.file.size });
    } catch (e) {
      patch(it.key, { state: "failed", message: messageOf(e) });
    }
    qc.invalidateQueries({ queryKey: ["jobs"] });
    qc.invalidateQueries({ queryKey: ["runs"] });
  };

  const pending = items.filter((x) => x.state === "ready" || x.state === "failed");
  const invalid = pending.some((x) => !/^\d+$/.test(x.epoch));
  const uploadAll = async () => {
    for (const it of pending) await uploadOne(it);
  };

  return (
    <div className="upload">
      <div
        className={`dropzone ${over ? "over" : ""}`}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); add(e.dataTransfer.files); }}
        onClick={() => input.current?.click()}
        role="button"
        tabIndex={0}
        onKeyDown={(e) => { if (e.key === "Enter" || e.key === " ") input.current?.click(); }}
      >
        Drop checkpoint files here (epoch_003.pt …) or click to choose
        <input ref={input} type="file" multiple hidden accept=".pt,.pth,.ckpt,.bin"
          data-testid="checkpoint-input" onChange={(e) => { add(e.target.files); e.target.value = ""; }} />
      </div>
      {items.length > 0 && (
        <table className="table files">
          <thead><tr><th>File</th><th>Epoch</th><th>Upload</th><th /></tr></thead>
          <tbody>
            {items.map((it) => (
              <tr key={it.key} data-testid="upload-row" data-state={it.state}>
                <td>{it.file.name} <span className="muted">{fmtMB(it.file.size)}</span></td>
                <td>
                  <input className="epoch-input" value={it.epoch} inputMode="numeric"
                    aria-label={`epoch for ${it.file.name}`} disabled={it.state === "uploading" || it.state === "done"}
                    onChange={(e) => patch(it.key, { epoch: e.target.value.trim() })} />
                </td>
                <td><div className="progress-cell">
                  <progress max={it.file.size || 1} value={it.sent} />
                  <span className="muted">{it.state}</span>
                  {it.message && <span className="err-text">{it.message}</span>}
                </div></td>
                <td>
                  {it.state !== "uploading" && (
                    <button onClick={() => setItems((xs) => xs.filter((x) => x.key !== it.key))}>Remove</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pending.length > 0 && (
        <p>
          <button className="primary" onClick={uploadAll} disabled={invalid}>
            Upload {pending.length} checkpoint{pending.length > 1 ? "s" : ""}
          </button>
          {invalid && <span className="err-text"> Every file needs a whole-number epoch.</span>}
        </p>
      )}
    </div>
  );
}
