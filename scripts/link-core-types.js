#!/usr/bin/env node
// The declarations tsc emits for lib/ (dist/types/lib/**) import the hand-written core
// declarations as '../../types/core', i.e. dist/types/types/core.d.ts. tsc does not copy .d.ts
// inputs, so this writes that file as a re-export of types/core.d.ts: one set of declarations.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', 'dist', 'types', 'types');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'core.d.ts'), "export * from '../../../types/core';\n");
