/* NumPy .npy files: a strict reader (format 1.0 to 3.0, C order, little-endian dtypes TF has) and
 * a minimal writer (format 1.0), as java/src's Npy.java. Bytes go into TF tensors as they are: TF
 * tensors are in the host's byte order, so only little-endian hosts are supported.
 */
#ifndef TRAIN_EXPORT_NPY_H_
#define TRAIN_EXPORT_NPY_H_

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensorflow/c/tf_datatype.h"

#define NPY_MAX_RANK 32

typedef struct {
    const char *descr; /* as numpy writes it on a little-endian host */
    TF_DataType type;
    size_t size;
    const char *name; /* numpy's name, for messages */
} DType;

static const DType DTYPES[] = {
    {"<f2", TF_HALF, 2, "float16"},        {"<f4", TF_FLOAT, 4, "float32"},
    {"<f8", TF_DOUBLE, 8, "float64"},      {"|i1", TF_INT8, 1, "int8"},
    {"<i2", TF_INT16, 2, "int16"},         {"<i4", TF_INT32, 4, "int32"},
    {"<i8", TF_INT64, 8, "int64"},         {"|u1", TF_UINT8, 1, "uint8"},
    {"<u2", TF_UINT16, 2, "uint16"},       {"<u4", TF_UINT32, 4, "uint32"},
    {"<u8", TF_UINT64, 8, "uint64"},       {"|b1", TF_BOOL, 1, "bool"},
    {"<c8", TF_COMPLEX64, 8, "complex64"}, {"<c16", TF_COMPLEX128, 16, "complex128"},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

/* The dtype of a TF data type, or NULL when numpy has none (strings, bfloat16, resources...). */
static inline const DType *dtype_of(TF_DataType type) {
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (DTYPES[i].type == type) {
            return &DTYPES[i];
        }
    }
    return NULL;
}

/* TF's DataType names (types.proto), for messages. */
static inline const char *tf_type_name(int type) {
    static const char *names[] = {"DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16",
                                  "DT_INT8", "DT_STRING", "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8",
                                  "DT_QUINT8", "DT_QINT32", "DT_BFLOAT16", "DT_QINT16", "DT_QUINT16",
                                  "DT_UINT16", "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",
                                  "DT_UINT32", "DT_UINT64"};
    return type >= 0 && (size_t)type < sizeof names / sizeof names[0] ? names[type] : "DT_(other)";
}

typedef struct {
    char *path;
    const DType *dtype;
    int rank;
    int64_t shape[NPY_MAX_RANK];
    uint8_t *bytes; /* the whole file */
    size_t data_start, data_length;
} Npy;

/* Reads `path` into `npy`; on a problem returns 0 with a message in `error` (the path not included). */
static inline int npy_read(const char *path, Npy *npy, char *error, size_t error_size) {
    static const uint8_t MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    const uint16_t probe = 1;
    memset(npy, 0, sizeof *npy);
    if (*(const uint8_t *)&probe != 1) {
        snprintf(error, error_size, "this host is big-endian; only little-endian hosts are supported");
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(error, error_size, errno == ENOENT ? "does not exist" : "cannot be read: %s", strerror(errno));
        return 0;
    }
    long length = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        length = ftell(f);
    }
    uint8_t *b = length >= 0 ? malloc((size_t)length + 1) : NULL;
    if (b == NULL || fseek(f, 0, SEEK_SET) != 0 || fread(b, 1, (size_t)length, f) != (size_t)length) {
        snprintf(error, error_size, "cannot be read: %s", strerror(errno ? errno : EIO));
        free(b);
        fclose(f);
        return 0;
    }
    fclose(f);
    size_t n = (size_t)length;
#define NPY_FAIL(...)                                                                                            \
    do {                                                                                                         \
        snprintf(error, error_size, __VA_ARGS__);                                                                \
        free(b);                                                                                                 \
        return 0;                                                                                                \
    } while (0)
    if (n < 10 || memcmp(b, MAGIC, 6) != 0) {
        NPY_FAIL("not a .npy file (no \\x93NUMPY magic)");
    }
    int major = b[6], minor = b[7];
    size_t header_length, header_start;
    if (major == 1) {
        header_length = (size_t)b[8] | (size_t)b[9] << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) {
            NPY_FAIL("truncated in its header");
        }
        header_length = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        header_start = 12;
    } else {
        NPY_FAIL("unsupported .npy format version %d.%d", major, minor);
    }
    if (header_length > n - header_start) {
        NPY_FAIL("truncated: the header says %zu bytes, the file is %zu", header_length, n);
    }
    size_t data_start = header_start + header_length;
    /* The header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
    char header[4096];
    size_t h0 = header_start, h1 = data_start;
    while (h0 < h1 && isspace(b[h0])) {
        h0++;
    }
    while (h1 > h0 && isspace(b[h1 - 1])) {
        h1--;
    }
    if (h1 - h0 >= sizeof header) {
        NPY_FAIL("header is longer than %zu bytes", sizeof header);
    }
    memcpy(header, b + h0, h1 - h0);
    header[h1 - h0] = 0;
    char descr[16] = "", order[8] = "", shape[512] = "";
    int seen = 0;
    const char *s = header;
    if (*s++ != '{') {
        NPY_FAIL("header is not a dict: %.120s", header);
    }
    for (;;) {
        while (isspace((unsigned char)*s)) {
            s++;
        }
        if (*s == '}') {
            break;
        }
        char key[32];
        size_t k = 0;
        if (*s++ != '\'') {
            NPY_FAIL("header is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}: %.120s", header);
        }
        while (*s && *s != '\'' && k + 1 < sizeof key) {
            key[k++] = *s++;
        }
        key[k] = 0;
        if (*s++ != '\'') {
            NPY_FAIL("header key too long: %.120s", header);
        }
        while (isspace((unsigned char)*s)) {
            s++;
        }
        if (*s++ != ':') {
            NPY_FAIL("header is not a dict: %.120s", header);
        }
        while (isspace((unsigned char)*s)) {
            s++;
        }
        char *target;
        size_t capacity;
        int bit;
        if (strcmp(key, "descr") == 0) {
            target = descr, capacity = sizeof descr, bit = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            target = order, capacity = sizeof order, bit = 2;
        } else if (strcmp(key, "shape") == 0) {
            target = shape, capacity = sizeof shape, bit = 4;
        } else {
            NPY_FAIL("header has an unknown key '%s': %.120s", key, header);
        }
        if (seen & bit) {
            NPY_FAIL("header repeats '%s'", key);
        }
        seen |= bit;
        const char *v = s;
        if (*s == '\'') {
            s = strchr(s + 1, '\'');
            s = s ? s + 1 : NULL;
        } else if (*s == '(') {
            s = strchr(s, ')');
            s = s ? s + 1 : NULL;
        } else {
            while (isalpha((unsigned char)*s)) {
                s++;
            }
        }
        if (s == NULL || s == v || (size_t)(s - v) >= capacity) {
            NPY_FAIL("header value of '%s' is malformed: %.120s", key, header);
        }
        memcpy(target, v, (size_t)(s - v));
        target[s - v] = 0;
        while (isspace((unsigned char)*s)) {
            s++;
        }
        if (*s == ',') {
            s++;
        } else if (*s != '}') {
            NPY_FAIL("header is not a dict: %.120s", header);
        }
    }
    if (seen != 7 || s[1] != 0) {
        NPY_FAIL("header is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}: %.120s", header);
    }
    size_t dlen = strlen(descr);
    if (dlen < 3 || descr[0] != '\'') {
        NPY_FAIL("header descr %s is not a string", descr);
    }
    descr[dlen - 1] = 0;
    const DType *dtype = NULL;
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (strcmp(DTYPES[i].descr, descr + 1) == 0) {
            dtype = &DTYPES[i];
        }
    }
    if (dtype == NULL) {
        char supported[256] = "";
        for (size_t i = 0; i < N_DTYPES; i++) {
            strcat(supported, i ? " " : "");
            strcat(supported, DTYPES[i].descr);
        }
        NPY_FAIL("dtype '%s' is not supported (supported: %s, little-endian)", descr + 1, supported);
    }
    if (strcmp(order, "False") != 0) {
        if (strcmp(order, "True") == 0) {
            NPY_FAIL("Fortran-order data is not supported: save it in C order");
        }
        NPY_FAIL("header fortran_order %s is not True or False", order);
    }
    /* (), (n,), (n, m), (n, m,): a one-element tuple needs its comma, as in Python. */
    int rank = 0, commas = 0;
    const char *t = shape + 1;
    for (;;) {
        while (isspace((unsigned char)*t)) {
            t++;
        }
        if (*t == ')') {
            break;
        }
        if (!isdigit((unsigned char)*t) || rank == NPY_MAX_RANK) {
            NPY_FAIL("header shape %s is not a tuple of sizes", shape);
        }
        char *after;
        errno = 0;
        unsigned long long d = strtoull(t, &after, 10);
        if (errno || d > (unsigned long long)INT64_MAX) {
            NPY_FAIL("shape %s is too large", shape);
        }
        npy->shape[rank++] = (int64_t)d;
        t = after;
        while (isspace((unsigned char)*t)) {
            t++;
        }
        if (*t == ',') {
            commas++;
            t++;
        } else if (*t != ')') {
            NPY_FAIL("header shape %s is not a tuple of sizes", shape);
        }
    }
    if (rank == 1 && commas == 0) {
        NPY_FAIL("header shape %s is not a tuple of sizes", shape);
    }
    unsigned __int128 expected = dtype->size;
    for (int i = 0; i < rank; i++) {
        expected *= (uint64_t)npy->shape[i];
        if (expected > (unsigned __int128)SIZE_MAX) {
            NPY_FAIL("shape %s is too large", shape);
        }
    }
    size_t actual = n - data_start;
    if (actual != (size_t)expected) {
        NPY_FAIL("holds %zu data bytes; shape %s of %s needs %zu%s", actual, shape, descr + 1, (size_t)expected,
                 actual < (size_t)expected ? " (truncated?)" : "");
    }
#undef NPY_FAIL
    npy->path = strdup(path);
    npy->dtype = dtype;
    npy->rank = rank;
    npy->bytes = b;
    npy->data_start = data_start;
    npy->data_length = actual;
    return 1;
}

static inline void npy_free(Npy *npy) {
    free(npy->path);
    free(npy->bytes);
    memset(npy, 0, sizeof *npy);
}

/* Writes an array as .npy (format 1.0, C order): beside the target first, then renamed over it.
 * Returns 0 with errno set on failure. */
static inline int npy_write(const char *path, const DType *dtype, int rank, const int64_t *shape, const void *data,
                            size_t length) {
    char dict[1024], dims[900] = "";
    size_t at = 0;
    for (int i = 0; i < rank && at < sizeof dims - 40; i++) {
        at += (size_t)snprintf(dims + at, sizeof dims - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    int m = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s%s), }", dtype->descr,
                     dims, rank == 1 ? "," : "");
    size_t unpadded = 6 + 4 + (size_t)m + 1;
    size_t padding = (64 - unpadded % 64) % 64; /* numpy aligns the data to 64 bytes */
    size_t header = (size_t)m + padding + 1;
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    snprintf(tmp, sizeof tmp, "%.*s.%s.%ld.tmp", (int)dir, path, path + dir, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        return 0;
    }
    uint8_t lead[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(header & 0xff), (uint8_t)(header >> 8)};
    int ok = fwrite(lead, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)m, f) == (size_t)m;
    for (size_t i = 0; ok && i < padding; i++) {
        ok = fputc(' ', f) != EOF;
    }
    ok = ok && fputc('\n', f) != EOF && (length == 0 || fwrite(data, 1, length, f) == length);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return 0;
    }
    return 1;
}

#endif /* TRAIN_EXPORT_NPY_H_ */
