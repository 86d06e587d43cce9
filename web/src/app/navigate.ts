/**
 * In-app links: a real <a href> (so it can be opened in a new tab, copied and shared) whose plain
 * click asks the app to go there without reloading the page (the session lives in the page).
 */
import { urlFor, type Route } from "./route.js";

export const NAVIGATE = "wirelab-navigate";

export type NavigateEvent = CustomEvent<Route>;

export function hrefFor(route: Route): string {
  const url = urlFor(route, new URL(location.href));
  return url.pathname + url.search;
}

export function navigate(from: EventTarget, route: Route): void {
  from.dispatchEvent(new CustomEvent<Route>(NAVIGATE, { detail: route, bubbles: true, composed: true }));
}

/** A click handler for a link to `route`: modified clicks (new tab, new window) are left to the browser. */
export function onLinkClick(route: Route) {
  return (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(event.currentTarget as EventTarget, route);
  };
}
