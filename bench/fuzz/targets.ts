// Every fuzz target, in the order `npm run fuzz` runs them: in-process parsers first, then the HTTP surfaces.

import type { Target } from './engine.ts';
import { aliyunAuthTarget, huaweiAuthTarget, tokensTarget } from './targets-auth.ts';
import { httpAliyunTarget, httpHuaweiTarget, httpKubeTarget, httpNativeTarget } from './targets-http.ts';
import { caImportTarget, csrTarget, derTarget, pemTarget } from './targets-pki.ts';

export function allTargets(): Target<unknown>[] {
  return [pemTarget, derTarget, csrTarget, caImportTarget, aliyunAuthTarget, huaweiAuthTarget, tokensTarget, httpNativeTarget, httpKubeTarget, httpAliyunTarget, httpHuaweiTarget] as Target<unknown>[];
}
