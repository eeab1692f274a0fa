/*
 * safetensors.h: read-only, memory-mapped safetensors checkpoints (one file or a sharded set
 * named by model.safetensors.index.json), and a streaming writer for new ones.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {str: str}, "NAME": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...}
 * then the data block; offsets are relative to the data block start.
 * Every header is validated before anything points into the file: offsets inside the file,
 * end >= begin, byte count = product(shape) * dtype size, no two tensors overlapping, names unique.
 */
#ifndef ENGINE_SAFETENSORS_H
#define ENGINE_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsa/err.h"

#define ST_MAX_DIMS 8

enum st_dtype {
    ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL,
    ST_F8_E4M3, ST_F8_E5M2, ST_U16, ST_U32, ST_U64,
    ST_DTYPE_COUNT
};

struct st_tensor {
    char *name;              /* tensor name as in the header */
    enum st_dtype dtype;
    int ndim;                /* 0..ST_MAX_DIMS */
    int64_t shape[ST_MAX_DIMS];
    uint64_t nbytes;         /* product(shape) * st_dtype_size(dtype) */
    uint64_t offset;         /* byte offset of the data inside its file (header included) */
    const void *data;        /* points into the read-only mapping; NULL from st_parse_header */
    const char *file;        /* the file's name (basename) for error messages; NULL from st_parse_header */
    bool used;               /* set by the caller (weights binding) to find extra tensors */
};

/* st_dtype_size: bytes per element (0 for ST_DTYPE_COUNT). st_dtype_name: "BF16", ... */
size_t st_dtype_size(enum st_dtype d);
const char *st_dtype_name(enum st_dtype d);
/* st_dtype_parse: "BF16" -> ST_BF16; false for an unknown name. */
bool st_dtype_parse(const char *s, enum st_dtype *out);

/* st_parse_header: parse and validate one header (the JSON bytes only, not the 8-byte prefix).
 * data_len is the size of the data block that follows the header in the file; fname names the
 * file in errors. On success *out is a malloc'd array of *n tensors sorted by offset (free with
 * st_tensors_free), offsets relative to the data block (data = NULL, file = NULL) and *meta a
 * malloc'd JSON string of __metadata__ (or NULL when absent; meta may be NULL to ignore it).
 * Errors (RSA_ERR_PARSE) name the file and the tensor. Pure: no I/O; the fuzz target calls it. */
enum rsa_err st_parse_header(const char *json, size_t len, uint64_t data_len, const char *fname,
                             struct st_tensor **out, size_t *n, char **meta, char *err, size_t errlen);
void st_tensors_free(struct st_tensor *t, size_t n);

/* A set of tensors from one or more mapped files. Opaque. */
struct st_set;

/* st_open_file: map one .safetensors file read-only and validate it.
 * Errors: RSA_ERR_IO (cannot open/map, names the path), RSA_ERR_PARSE (truncated file,
 * header length beyond the file, bad header). */
enum rsa_err st_open_file(const char *path, struct st_set **out, char *err, size_t errlen);

/* st_open_dir: open a Hugging Face model directory: model.safetensors.index.json when present
 * (every shard in its weight_map is mapped; each listed tensor must exist in the shard the map
 * names; a tensor found in two shards is an error), otherwise model.safetensors.
 * RSA_ERR_NOT_FOUND when neither file exists (message names the directory). */
enum rsa_err st_open_dir(const char *dir, struct st_set **out, char *err, size_t errlen);

/* st_count / st_at: all tensors of the set, in a stable order. */
size_t st_count(const struct st_set *s);
struct st_tensor *st_at(const struct st_set *s, size_t i);

/* st_find: the tensor called name, or NULL (hash lookup, O(1)). */
struct st_tensor *st_find(const struct st_set *s, const char *name);

/* st_metadata: the __metadata__ JSON of the first file (NULL when absent). */
const char *st_metadata(const struct st_set *s);

/* st_total_bytes: sum of all tensors' nbytes. */
uint64_t st_total_bytes(const struct st_set *s);

/* st_close: unmap and free; NULL is fine. */
void st_close(struct st_set *s);

/* ---- writer: header first, then the tensors' bytes in the order given ---- */

struct st_wtensor {
    const char *name;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
};

struct st_writer;

/* st_writer_open: create path and write the header for tensors t[0..n) laid out back to back in
 * that order (8-byte aligned header, as the reference writer pads with spaces). metadata: NULL or
 * a JSON object text of string values ({"format": "pt"} is a good default). */
enum rsa_err st_writer_open(const char *path, const struct st_wtensor *t, size_t n, const char *metadata,
                            struct st_writer **out, char *err, size_t errlen);
/* st_writer_write: append the next nbytes of tensor data (any chunking). Writing more than the
 * header declares is an error. */
enum rsa_err st_writer_write(struct st_writer *w, const void *data, size_t nbytes, char *err, size_t errlen);
/* st_writer_close: flush and close; an error when fewer bytes were written than declared (the file
 * is then removed). Always frees w. */
enum rsa_err st_writer_close(struct st_writer *w, char *err, size_t errlen);

#endif
