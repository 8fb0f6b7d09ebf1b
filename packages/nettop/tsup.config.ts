import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base.js';

// The library (src/index.ts) and the `nettop` command (src/cli.ts, the package's bin).
export default defineConfig(libraryConfig({ entry: ['src/index.ts', 'src/cli.ts'] }));
