import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { post, uploadWithProgress } from "../api/client";
import type { Dataset } from "../api/types";
import { ErrorBox, messageOf } from "./States";

/** Upload a zip of images + annotations (COCO JSON, Pascal VOC or YOLO). */
export function DatasetUpload() {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [inputKey, setInputKey] = useState(0);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.set("name", name || file.name.replace(/\.zip$/i, ""));
    form.set("file", file);
    setError(null); setDone(null); setSent(0);
    try {
      const ds = await uploadWithProgress<Dataset>("/api/datasets", form, (s) => setSent(s)).promise;
      setDone(`Dataset “${ds.name}” created: ${ds.image_count} images.`);
      setName(""); setFile(null); setInputKey((k) => k + 1);
      qc.invalidateQueries({ queryKey: ["datasets"] });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSent(null);
    }
  };

  return (
    <form className="form" onSubmit={submit}>
      <h3>Upload a dataset (.zip)</h3>
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="bccd-val" /></label>
      <label>Zip file <input key={inputKey} type="file" accept=".zip" data-testid="dataset-input"
        onChange={(e) => setFile(e.target.files?.[0] ?? null)} /></label>
      <button className="primary" disabled={!file || sent !== null}>Upload dataset</button>
      {sent !== null && file && <progress max={file.size} value={sent} />}
      {done && <p className="ok-text" role="status">{done}</p>}
      {error && <p className="err-text" role="alert">{error}</p>}
    </form>
  );
}

/** Register a folder the server can read (for large datasets on a shared disk). */
export function DatasetRegister() {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [path, setPath] = useState("");
  const [split, setSplit] = useState("");
  const m = useMutation({
    mutationFn: () => post<Dataset>("/api/datasets/register",
      { name, path, ...(split ? { split } : {}) }),
    onSuccess: () => { setName(""); setPath(""); setSplit(""); qc.invalidateQueries({ queryKey: ["datasets"] }); },
  });
  return (
    <form className="form" onSubmit={(e) => { e.preventDefault(); m.mutate(); }}>
      <h3>…or register a server folder</h3>
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required /></label>
      <label>Path <input value={path} onChange={(e) => setPath(e.target.value)} required
        placeholder="/data/bccd" /></label>
      <label>Split <input value={split} onChange={(e) => setSplit(e.target.value)} placeholder="val (optional)" /></label>
      <button disabled={m.isPending}>Register</button>
      {m.isSuccess && <p className="ok-text">Registered “{m.data.name}”: {m.data.image_count} images.</p>}
      {m.isError && <ErrorBox error={m.error} />}
    </form>
  );
}
