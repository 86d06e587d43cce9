/**
 * The pure parts of lab instructions: links between labs and the repeated title. (Sanitising
 * needs a DOM: the browser test, test/browser/labs.test.ts, checks it with a hostile lab body.)
 */
import { expect, test } from "vitest";
import { labIdOfLink, withoutTitle } from "../../web/src/app/markdown.js";

test("a relative link to a lab file names that lab", () => {
  expect(labIdOfLink("07-six-connection-limit.md")).toBe("07-six-connection-limit");
  expect(labIdOfLink("./07-six-connection-limit.md")).toBe("07-six-connection-limit");
  expect(labIdOfLink("../labs/07-six-connection-limit.md#what-to-observe")).toBe("07-six-connection-limit");
  expect(labIdOfLink("../docs/network-emulation.md")).toBeNull();
  expect(labIdOfLink("https://example.com/07-six.md")).toBeNull();
  expect(labIdOfLink("javascript:alert(1)//07-x.md")).toBeNull();
});

test("the body's leading title is dropped when it repeats the lab's", () => {
  expect(withoutTitle("# Quick check\n\nBody.", "Quick check")).toBe("Body.");
  expect(withoutTitle("# quick CHECK #\r\nBody.", "Quick check")).toBe("Body.");
  expect(withoutTitle("# Something else\n\nBody.", "Quick check")).toBe("# Something else\n\nBody.");
  expect(withoutTitle("Body.\n# Quick check", "Quick check")).toBe("Body.\n# Quick check");
});
