// `kubecred project add|list|remove`: map Huawei Cloud project IDs to the account so CCE-style paths resolve.
// Parsing and printing only; the server decides who may do it (the account root).

import type { Command } from 'commander';
import { outputOption, print } from './output.ts';
import { withClient } from './run-action.ts';

const COLS = ['projectId', 'vendor', 'region', 'createdAt'];

export function registerProjectCommands(program: Command): void {
  const project = program.command('project').description('vendor project IDs (Huawei Cloud CCE) mapped to your account');
  outputOption(project.command('add <projectId>').description('map a Huawei Cloud project ID to your account (root only)'))
    .requiredOption('--region <region>', 'the region the project belongs to, e.g. cn-north-4')
    .action(withClient(async (client, o, format, projectId: string) => {
      print(await client.post('/v1/projects', { projectId, region: o.region }), format, format === 'table' ? COLS : undefined);
    }));
  outputOption(project.command('list').description("list your account's project IDs (root only)"))
    .action(withClient(async (client, _o, format) => print((await client.get<{ items: unknown[] }>('/v1/projects')).items, format, COLS)));
  outputOption(project.command('remove <projectId>').description("remove a project ID from your account (root only); CCE paths naming it then answer 404"))
    .action(withClient(async (client, _o, format, projectId: string) => print(await client.delete(`/v1/projects/${encodeURIComponent(projectId)}`), format)));
}
