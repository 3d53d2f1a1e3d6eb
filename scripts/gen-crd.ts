/**
 * Write the generated API artefacts from the zod schemas (the one source of truth):
 * crds/zimage.dev_zimagedeployments.yaml and docs/api.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crdPath, renderCrdYaml } from '../src/operator/api/v1alpha1/crd-yaml.ts';
import { apiDocsPath, renderApiDocs } from '../src/operator/api/v1alpha1/docs.ts';

const root = path.join(import.meta.dirname, '..');
fs.writeFileSync(path.join(root, crdPath), renderCrdYaml());
fs.writeFileSync(path.join(root, apiDocsPath), renderApiDocs());
console.log(`wrote ${crdPath} and ${apiDocsPath}`);
