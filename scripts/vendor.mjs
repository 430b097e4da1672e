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
  // risk radar map; leaflet.css finds its images in ./images/
  "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
  "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
  "leaflet/dist/images/layers.png": "leaflet/images/layers.png",
  "leaflet/dist/images/layers-2x.png": "leaflet/images/layers-2x.png",
  "leaflet/dist/images/marker-icon.png": "leaflet/images/marker-icon.png",
  "leaflet/dist/images/marker-icon-2x.png": "leaflet/images/marker-icon-2x.png",
  "leaflet/dist/images/marker-shadow.png": "leaflet/images/marker-shadow.png",
  // offline base layer for the map: Natural Earth land polygons (1:50m) as TopoJSON, and its decoder
  "world-atlas/land-50m.json": "world-atlas/land-50m.json",
  "topojson-client/dist/topojson-client.min.js": "topojson-client.min.js",
};
mkdirSync(out, { recursive: true });
for (const [src, dst] of Object.entries(files)) {
  const from = join(root, "node_modules", src);
  if (!existsSync(from)) {
    console.error(`missing ${from}: run npm install`);
    process.exit(1);
  }
  mkdirSync(dirname(join(out, dst)), { recursive: true });
  copyFileSync(from, join(out, dst));
}
console.log(`vendored ${Object.keys(files).length} files into ${out}`);
