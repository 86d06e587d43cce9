/** Save data as a file: a Blob (text) or a data URL (an image), through a temporary <a download>. */
export function download(fileName: string, data: Blob | string): void {
  const url = typeof data === "string" ? data : URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  if (typeof data !== "string") setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
