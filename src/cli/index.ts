#!/usr/bin/env node
import { processIo, runCli } from './dispatch.js';

process.exitCode = await runCli(process.argv.slice(2), processIo);
