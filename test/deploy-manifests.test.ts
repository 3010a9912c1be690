// deploy/kubernetes renders with kubectl's own kustomize, and its pieces fit together: the Service and
// the PodDisruptionBudget select the Deployment's pods, probes hit /readyz and /healthz, secrets come from a
// Secret, and every flag the manifests pass is one `kubecred` accepts.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { cli } from './support/cli.ts';
import { ROOT } from './support/server-process.ts';

const run = (cmd: string, args: string[]) => new Promise<string>((resolve, reject) =>
  execFile(cmd, args, { encoding: 'utf8' }, (e, out, err) => (e ? reject(new Error(err || e.message)) : resolve(out))));

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('deploy/kubernetes renders and its objects fit together', async () => {
  const docs = YAML.parseAllDocuments(await run('/usr/bin/kubectl', ['kustomize', path.join(ROOT, 'deploy', 'kubernetes')])).map((d) => d.toJS());
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']);
  const [deploy] = byKind('Deployment');
  const pod = deploy.spec.template;
  const labels = pod.metadata.labels;
  assert.ok(deploy.spec.replicas >= 2, 'several replicas');
  assert.ok(matches(deploy.spec.selector.matchLabels, labels));
  const [svc] = byKind('Service');
  assert.ok(matches(svc.spec.selector, labels), 'the Service selects the pods');
  const [pdb] = byKind('PodDisruptionBudget');
  assert.ok(matches(pdb.spec.selector.matchLabels, labels), 'the PDB selects the pods');
  assert.ok(pdb.spec.minAvailable < deploy.spec.replicas, 'a drain can still proceed');

  const [main] = pod.spec.containers;
  assert.equal(main.readinessProbe.httpGet.path, '/readyz');
  assert.equal(main.livenessProbe.httpGet.path, '/healthz');
  assert.ok(main.ports.some((p: { name: string }) => p.name === svc.spec.ports[0].targetPort));
  for (const c of [...pod.spec.initContainers, main]) {
    const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    assert.equal(env.KUBECRED_MASTER_KEY.valueFrom.secretKeyRef.name, 'kubecred', 'the master key comes from the Secret');
    assert.equal(env.KUBECRED_DATABASE_URL.valueFrom.secretKeyRef.name, 'kubecred');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  }
  assert.deepEqual(pod.spec.initContainers[0].args, ['migrate']);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);

  // Every flag the manifests pass is one the CLI documents.
  const help = (await cli(null, null, ['serve', '--help'])).stdout;
  for (const arg of main.args.filter((a: string) => a.startsWith('--'))) {
    assert.ok(help.includes(arg.split('=')[0]), `kubecred serve knows ${arg}`);
  }
  const tlsVolume = pod.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, 'kubecred-tls');
});
