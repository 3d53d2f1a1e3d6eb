/** Write crds/zimage.dev_zimagedeployments.yaml from the zod schemas (the one source of truth). */
import fs from 'node:fs';
import path from 'node:path';
import { renderCrdYaml, crdPath } from '../src/operator/api/v1alpha1/crd-yaml.ts';

const target = path.join(import.meta.dirname, '..', crdPath);
fs.writeFileSync(target, renderCrdYaml());
console.log(`wrote ${crdPath}`);
