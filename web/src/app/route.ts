/**
 * Where the dashboard is, read from and written to the address, so a view can be shared as a
 * link: `/?room=lobby` is the workbench, `/?view=labs` the lab list, `/?lab=03-reconnect-and-resume`
 * one lab, `/?view=class` the instructor's class view. Other parameters (the room) are kept. Pure: tested in Node.
 */
export type Route = { view: "workbench" } | { view: "labs" } | { view: "class" } | { view: "lab"; id: string };

const MAX_ID = 100;

export function routeFrom(url: URL): Route {
  const lab = url.searchParams.get("lab")?.trim();
  if (lab && lab.length <= MAX_ID) return { view: "lab", id: lab };
  if (url.searchParams.get("view") === "labs") return { view: "labs" };
  if (url.searchParams.get("view") === "class") return { view: "class" };
  return { view: "workbench" };
}

/** The address of `route`, keeping the other parameters of `current`. */
export function urlFor(route: Route, current: URL): URL {
  const url = new URL(current.href);
  url.searchParams.delete("lab");
  url.searchParams.delete("view");
  url.hash = "";
  if (route.view === "labs" || route.view === "class") url.searchParams.set("view", route.view);
  if (route.view === "lab") url.searchParams.set("lab", route.id);
  return url;
}

export function sameRoute(a: Route, b: Route): boolean {
  return a.view === b.view && (a.view !== "lab" || a.id === (b as { id: string }).id);
}

/** The section of the navigation a route belongs to. */
export function sectionOf(route: Route): "workbench" | "labs" | "class" {
  return route.view === "lab" ? "labs" : route.view;
}
