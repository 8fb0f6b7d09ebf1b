import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base.js';

// The addon is found at run time by node-gyp-build from the package root.
export default defineConfig(libraryConfig({ external: ['node-gyp-build'] }));
