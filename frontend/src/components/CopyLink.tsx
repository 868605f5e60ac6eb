import { useState } from "react";

/** Copies the current address: every view's state is in it, the token never is. */
export function CopyLink() {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      window.prompt("Copy this link", window.location.href);
    }
  };
  return <button className="copy" onClick={copy}>{copied ? "Link copied" : "Copy link"}</button>;
}
