// safetensors reader and writer (the Hugging Face format), written here with no dependency.
//
// File = 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then the byte buffer.
// Header: { "<name>": { "dtype", "shape", "data_offsets": [begin, end) }, ..., "__metadata__"?: {string: string} }
// with offsets relative to the start of the byte buffer; the tensors must cover the buffer exactly
// (no holes, no overlaps). As in the reference parser
// (huggingface/safetensors `tensor.rs`): the header is at most 100,000,000 bytes, its keys are
// unique, every dtype's size times the shape's element count equals its byte range.
//
// Reading never pulls a whole file into memory: the header is read first, then each tensor's byte
// range on its own, in chunks, so a sharded multi-GB checkpoint streams tensor by tensor. Every
// problem with a file is an Error with code 'ERR_MOONTRAIN_BAD_SAFETENSORS' that names the file
// (and the tensor, when one is to blame); bad arguments are moontrain's usual invalid-argument
// Errors.
//
// The parts: safetensors-header.ts (parsing and validation), safetensors-read.ts (loading a file),
// safetensors-index.ts (directories and sharded indexes), safetensors-write.ts (saving),
// safetensors-dtype.ts (dtype sizes and conversions), safetensors-file.ts (file access, errors).
export { BAD_SAFETENSORS, _setChunkBytesForTests } from './safetensors-file';
export { MAX_HEADER_BYTES, readSafetensorsHeader } from './safetensors-header';
export { loadSafetensors } from './safetensors-read';
export { loadSafetensorsDir } from './safetensors-index';
export { saveSafetensors } from './safetensors-write';
