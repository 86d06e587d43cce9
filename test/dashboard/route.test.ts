/** The dashboard's address: which view it shows, and the link to each view. */
import { expect, test } from "vitest";
import { routeFrom, sameRoute, sectionOf, urlFor } from "../../web/src/app/route.js";

const at = (search: string) => new URL(`http://127.0.0.1:8080/${search}`);

test("the address names the view", () => {
  expect(routeFrom(at(""))).toEqual({ view: "workbench" });
  expect(routeFrom(at("?room=lobby"))).toEqual({ view: "workbench" });
  expect(routeFrom(at("?view=labs"))).toEqual({ view: "labs" });
  expect(routeFrom(at("?lab=03-reconnect-and-resume"))).toEqual({ view: "lab", id: "03-reconnect-and-resume" });
  // A lab wins over the list; an empty or absurd lab id is no lab.
  expect(routeFrom(at("?view=labs&lab=01-x"))).toEqual({ view: "lab", id: "01-x" });
  expect(routeFrom(at("?lab="))).toEqual({ view: "workbench" });
  expect(routeFrom(at(`?lab=${"x".repeat(101)}`))).toEqual({ view: "workbench" });
});

test("links keep the room and replace the view", () => {
  const here = at("?room=class-a&lab=01-x#top");
  expect(urlFor({ view: "labs" }, here).search).toBe("?room=class-a&view=labs");
  expect(urlFor({ view: "workbench" }, here).href).toBe("http://127.0.0.1:8080/?room=class-a");
  const lab = urlFor({ view: "lab", id: "03-reconnect-and-resume" }, at("?room=lobby&view=labs"));
  expect(lab.search).toBe("?room=lobby&lab=03-reconnect-and-resume");
  expect(routeFrom(lab)).toEqual({ view: "lab", id: "03-reconnect-and-resume" });
});

test("routes compare by view and lab; both lab views belong to Labs", () => {
  expect(sameRoute({ view: "lab", id: "01-x" }, { view: "lab", id: "01-x" })).toBe(true);
  expect(sameRoute({ view: "lab", id: "01-x" }, { view: "lab", id: "02-y" })).toBe(false);
  expect(sameRoute({ view: "labs" }, { view: "workbench" })).toBe(false);
  expect(sectionOf({ view: "lab", id: "01-x" })).toBe("labs");
  expect(sectionOf({ view: "labs" })).toBe("labs");
  expect(sectionOf({ view: "workbench" })).toBe("workbench");
});

test("the class view has its own address and section", () => {
  expect(routeFrom(at("?room=lobby&view=class"))).toEqual({ view: "class" });
  expect(urlFor({ view: "class" }, at("?room=lobby&lab=01-x")).search).toBe("?room=lobby&view=class");
  expect(sectionOf({ view: "class" })).toBe("class");
  expect(sectionOf({ view: "lab", id: "01-x" })).toBe("labs");
});
