// Copy the front-end libraries the app serves from node_modules into the package's static folder.
// Nothing third-party is committed; nothing is loaded from a CDN at run time.
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "src", "xiaobao", "web", "static", "vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "echarts/dist/echarts.min.js": "echarts.min.js",
};
mkdirSync(out, { recursive: true });
for (const [src, dst] of Object.entries(files)) {
  const from = join(root, "node_modules", src);
  if (!existsSync(from)) {
    console.error(`missing ${from}: run npm install`);
    process.exit(1);
  }
  copyFileSync(from, join(out, dst));
}
console.log(`vendored ${Object.keys(files).length} files into ${out}`);
