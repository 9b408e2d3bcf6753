/* train_export: trains a SavedModel's training signature through the TensorFlow C API, no Python.
 *
 * What java/src's TrainExport does with TF Java, with libtensorflow's C API of the TF version it is
 * built against (harness/runtimes/c_api.py builds it with the system C compiler against a TF wheel's headers
 * and libraries): TF_LoadSessionFromSavedModel with the tag set, the signatures' tensor names read
 * from the MetaGraphDef the loader returns (pb.h), one TF_SessionRun per call as the TF1 session
 * loader makes it (every output of the signature fetched, its inputs fed), the saver_def's save and
 * restore ops, the save and restore signatures.
 *
 * Inputs are .npy files: train.<input>.npy stacked per step ([steps, ...]) and predict.<input>.npy.
 * Writes losses.npy and predict.<output>.npy (bit-exact values) as soon as each stage is done, the
 * saver_def's checkpoint and the save signature's, summary.json, and prints that summary on stdout
 * (one line of JSON). Before each stage it prints "train_export-stage: <stage>" on stderr (load,
 * restore, train, predict, save, save_signature, bench): a failure, or a crash, is in the last one.
 * Exit status: 0 done; 2 bad input (one line "train_export: <file or signature>: <problem>" on stderr,
 * nothing run); 1 TensorFlow failed (one line "train_export: ...", naming the signature or op).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tensorflow/c/c_api.h"

#include "npy.h"
#include "pb.h"

#define MARK "train_export: "
#define STAGE_MARK "train_export-stage: "
#define MAX_IO 256

static const char USAGE[] =
    "usage: train_export --tf-version | train_export --export DIR --inputs DIR --out DIR [--steps N] [--train train] [--loss loss]"
    " [--predict NAME] [--save-dir DIR] [--saver-save yes|no] [--save-signature NAME --save-path-input NAME]"
    " [--signature-dir DIR] [--restore saver|signature --restore-prefix PREFIX]"
    " [--restore-signature NAME --restore-path-input NAME] [--threads 1] [--bench N] [--tags serve[,TAG...]]";

/* ---------------------------------------------------------------- errors, stages */

static const char *stage = "load";

static void set_stage(const char *name) {
    stage = name;
    fprintf(stderr, STAGE_MARK "%s\n", name);
    fflush(stderr);
}

/* One line: whitespace runs (TF's multi-line messages) become one space. */
static void one_line(char *text) {
    char *w = text;
    int space = 1;
    for (const char *r = text; *r; r++) {
        if (*r == ' ' || *r == '\n' || *r == '\t' || *r == '\r') {
            if (!space) {
                *w++ = ' ';
            }
            space = 1;
        } else {
            *w++ = *r;
            space = 0;
        }
    }
    while (w > text && w[-1] == ' ') {
        w--;
    }
    *w = 0;
}

static void vexit_with(int status, const char *format, va_list args) {
    char message[8192];
    vsnprintf(message, sizeof message, format, args);
    one_line(message);
    fflush(stdout);
    fprintf(stderr, MARK "%s\n", message);
    fflush(stderr);
    exit(status);
}

/* Bad input: a missing or malformed file, an unknown signature or option. Exit status 2. */
static void bad(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void bad(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vexit_with(2, format, args);
    va_end(args);
    exit(2);
}

/* TensorFlow failed at something it was asked to do. Exit status 1. */
static void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vexit_with(1, format, args);
    va_end(args);
    exit(1);
}

static void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        fail("out of memory (%zu bytes)", size);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n) {
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

static char *xsprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *xsprintf(const char *format, ...) {
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *out = xmalloc((size_t)n + 1);
    vsnprintf(out, (size_t)n + 1, format, again);
    va_end(again);
    return out;
}

/* ---------------------------------------------------------------- options */

typedef struct {
    const char *name, *value;
} Option;

static const char *KNOWN[] = {"--export", "--inputs", "--out", "--steps", "--train", "--loss", "--predict",
                              "--save-dir", "--saver-save", "--save-signature", "--save-path-input",
                              "--signature-dir", "--restore", "--restore-prefix", "--restore-signature",
                              "--restore-path-input", "--threads", "--bench", "--tags"};
#define N_KNOWN (sizeof KNOWN / sizeof KNOWN[0])
static Option options[N_KNOWN];
static int n_options;

static const char *option(const char *name, const char *fallback) {
    for (int i = 0; i < n_options; i++) {
        if (strcmp(options[i].name, name) == 0) {
            return options[i].value;
        }
    }
    return fallback;
}

static const char *required(const char *name) {
    const char *value = option(name, NULL);
    if (value == NULL) {
        bad("%s is required; %s", name, USAGE);
    }
    return value;
}

static void parse(int argc, char **argv) {
    for (int i = 1; i < argc; i += 2) {
        int known = 0;
        for (size_t k = 0; k < N_KNOWN; k++) {
            known |= strcmp(argv[i], KNOWN[k]) == 0;
        }
        if (!known) {
            bad("unknown option %s; %s", argv[i], USAGE);
        }
        if (i + 1 >= argc) {
            bad("%s needs a value; %s", argv[i], USAGE);
        }
        if (option(argv[i], NULL) != NULL) {
            bad("%s given twice", argv[i]);
        }
        options[n_options++] = (Option){argv[i], argv[i + 1]};
    }
}

static long int_option(const char *name, long fallback, long minimum) {
    const char *value = option(name, NULL);
    if (value == NULL) {
        return fallback;
    }
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < minimum || n > INT32_MAX) {
        bad("%s must be an integer >= %ld, got %s", name, minimum, value);
    }
    return n;
}

/* ---------------------------------------------------------------- live tensors */

/* Every TF_Tensor this program holds is counted: the summary's unreleased_tensors must be 0. */
static long live_tensors;

static TF_Tensor *counted(TF_Tensor *t) {
    if (t != NULL) {
        live_tensors++;
    }
    return t;
}

static void release(TF_Tensor *t) {
    if (t != NULL) {
        TF_DeleteTensor(t);
        live_tensors--;
    }
}

static TF_Tensor *numeric_tensor(TF_DataType type, const int64_t *dims, int rank, const void *data, size_t length) {
    TF_Tensor *t = counted(TF_AllocateTensor(type, dims, rank, length));
    if (t == NULL) {
        fail("TF_AllocateTensor(%s, %zu bytes) failed", tf_type_name(type), length);
    }
    if (length) {
        memcpy(TF_TensorData(t), data, length);
    }
    return t;
}

static void free_tstring(void *data, size_t length, void *arg) {
    (void)length, (void)arg;
    TF_TString_Dealloc((TF_TString *)data);
    free(data);
}

/* A scalar string tensor (a checkpoint path), its TF_TString owned by the tensor. */
static TF_Tensor *string_scalar(const char *text) {
    TF_TString *s = aligned_alloc(64, 64);
    if (s == NULL) {
        fail("out of memory");
    }
    TF_TString_Init(s);
    TF_TString_Copy(s, text, strlen(text));
    TF_Tensor *t = counted(TF_NewTensor(TF_STRING, NULL, 0, s, sizeof *s, free_tstring, NULL));
    if (t == NULL) {
        fail("TF_NewTensor(TF_STRING) failed");
    }
    return t;
}

/* ---------------------------------------------------------------- the MetaGraphDef */

typedef struct {
    char *key;    /* the signature's name for it */
    char *tensor; /* the graph's tensor, "op:index" */
    int dtype;    /* TF DataType */
    int unknown_rank, rank;
    int64_t dims[NPY_MAX_RANK]; /* -1: unknown */
    int sparse;                 /* coo_sparse or composite: not fed by this program */
    TF_Output output;
} TensorInfo;

typedef struct {
    char *key, *method;
    int n_inputs, n_outputs;
    TensorInfo inputs[MAX_IO], outputs[MAX_IO];
} Signature;

typedef struct {
    int n_signatures;
    Signature *signatures;
    int has_saver;
    char *filename, *save, *restore; /* SaverDef: filename_tensor_name, save_tensor_name, restore_op_name */
} Meta;

static void malformed(const char *what) {
    fail("the MetaGraphDef TF_LoadSessionFromSavedModel returned cannot be read (%s)", what);
}

static char *pb_string(Pb bytes) {
    return xstrndup((const char *)bytes.p, (size_t)(bytes.end - bytes.p));
}

static void read_shape(Pb b, TensorInfo *info) {
    uint32_t field;
    int wire, r;
    uint64_t value;
    Pb bytes;
    while ((r = pb_next(&b, &field, &wire, &value, &bytes)) > 0) {
        if (field == 2 && wire == PB_BYTES) { /* dim */
            if (info->rank == NPY_MAX_RANK) {
                malformed("a TensorShapeProto of more than 32 dimensions");
            }
            int64_t size = 0;
            uint32_t f2;
            int w2, r2;
            uint64_t v2;
            Pb b2;
            while ((r2 = pb_next(&bytes, &f2, &w2, &v2, &b2)) > 0) {
                if (f2 == 1 && w2 == PB_VARINT) {
                    size = (int64_t)v2;
                }
            }
            if (r2 < 0) {
                malformed("TensorShapeProto.Dim");
            }
            info->dims[info->rank++] = size < 0 ? -1 : size;
        } else if (field == 3 && wire == PB_VARINT) {
            info->unknown_rank = value != 0;
        }
    }
    if (r < 0) {
        malformed("TensorShapeProto");
    }
}

static void read_tensor_info(Pb b, TensorInfo *info) {
    uint32_t field;
    int wire, r;
    uint64_t value;
    Pb bytes;
    while ((r = pb_next(&b, &field, &wire, &value, &bytes)) > 0) {
        if (field == 1 && wire == PB_BYTES) {
            free(info->tensor);
            info->tensor = pb_string(bytes);
        } else if (field == 2 && wire == PB_VARINT) {
            info->dtype = (int)value;
        } else if (field == 3 && wire == PB_BYTES) {
            read_shape(bytes, info);
        } else if ((field == 4 || field == 5) && wire == PB_BYTES) {
            info->sparse = 1;
        }
    }
    if (r < 0) {
        malformed("TensorInfo");
    }
}

/* One map<string, TensorInfo> entry into `infos`. */
static void read_tensor_entry(Pb b, TensorInfo *infos, int *n, const char *signature) {
    if (*n == MAX_IO) {
        fail("signature %s has more than %d inputs or outputs", signature, MAX_IO);
    }
    TensorInfo *info = &infos[(*n)++];
    memset(info, 0, sizeof *info);
    uint32_t field;
    int wire, r;
    uint64_t value;
    Pb bytes;
    while ((r = pb_next(&b, &field, &wire, &value, &bytes)) > 0) {
        if (field == 1 && wire == PB_BYTES) {
            free(info->key);
            info->key = pb_string(bytes);
        } else if (field == 2 && wire == PB_BYTES) {
            read_tensor_info(bytes, info);
        }
    }
    if (r < 0 || info->key == NULL) {
        malformed("a SignatureDef input or output");
    }
    if (info->tensor == NULL) {
        info->tensor = xstrndup("", 0);
    }
}

static void read_signature_entry(Pb b, Signature *sig) {
    memset(sig, 0, sizeof *sig);
    Pb def = {NULL, NULL};
    uint32_t field;
    int wire, r;
    uint64_t value;
    Pb bytes;
    while ((r = pb_next(&b, &field, &wire, &value, &bytes)) > 0) {
        if (field == 1 && wire == PB_BYTES) {
            free(sig->key);
            sig->key = pb_string(bytes);
        } else if (field == 2 && wire == PB_BYTES) {
            def = bytes;
        }
    }
    if (r < 0 || sig->key == NULL) {
        malformed("a signature_def entry");
    }
    while (def.p != NULL && (r = pb_next(&def, &field, &wire, &value, &bytes)) > 0) {
        if (field == 1 && wire == PB_BYTES) {
            read_tensor_entry(bytes, sig->inputs, &sig->n_inputs, sig->key);
        } else if (field == 2 && wire == PB_BYTES) {
            read_tensor_entry(bytes, sig->outputs, &sig->n_outputs, sig->key);
        } else if (field == 3 && wire == PB_BYTES) {
            free(sig->method);
            sig->method = pb_string(bytes);
        }
    }
    if (r < 0) {
        malformed("SignatureDef");
    }
}

static void read_meta(const TF_Buffer *buffer, Meta *meta) {
    memset(meta, 0, sizeof *meta);
    Pb b = pb_of(buffer->data, buffer->length);
    uint32_t field;
    int wire, r;
    uint64_t value;
    Pb bytes;
    int capacity = 0;
    while ((r = pb_next(&b, &field, &wire, &value, &bytes)) > 0) {
        if (field == 3 && wire == PB_BYTES) { /* saver_def */
            meta->has_saver = 1;
            uint32_t f2;
            int w2, r2;
            uint64_t v2;
            Pb b2;
            while ((r2 = pb_next(&bytes, &f2, &w2, &v2, &b2)) > 0) {
                char **target = f2 == 1 ? &meta->filename : f2 == 2 ? &meta->save : f2 == 3 ? &meta->restore : NULL;
                if (target != NULL && w2 == PB_BYTES) {
                    free(*target);
                    *target = pb_string(b2);
                }
            }
            if (r2 < 0) {
                malformed("SaverDef");
            }
        } else if (field == 5 && wire == PB_BYTES) { /* signature_def */
            if (meta->n_signatures == capacity) {
                capacity = capacity ? 2 * capacity : 8;
                meta->signatures = realloc(meta->signatures, (size_t)capacity * sizeof *meta->signatures);
                if (meta->signatures == NULL) {
                    fail("out of memory");
                }
            }
            read_signature_entry(bytes, &meta->signatures[meta->n_signatures++]);
        }
    }
    if (r < 0) {
        malformed("MetaGraphDef");
    }
}

static void free_meta(Meta *meta) {
    for (int i = 0; i < meta->n_signatures; i++) {
        Signature *s = &meta->signatures[i];
        for (int k = 0; k < s->n_inputs; k++) {
            free(s->inputs[k].key), free(s->inputs[k].tensor);
        }
        for (int k = 0; k < s->n_outputs; k++) {
            free(s->outputs[k].key), free(s->outputs[k].tensor);
        }
        free(s->key), free(s->method);
    }
    free(meta->signatures), free(meta->filename), free(meta->save), free(meta->restore);
    memset(meta, 0, sizeof *meta);
}

/* ---------------------------------------------------------------- the session */

static TF_Graph *graph;
static TF_Session *session;
static Meta meta;
static const char *export_dir, *inputs_dir, *out_dir;

/* "op:index" (or "op": index 0) -> the graph's output; NULL op if the graph has no such op. */
static TF_Output output_of(const char *tensor, int *found) {
    TF_Output out = {NULL, 0};
    const char *colon = strrchr(tensor, ':');
    char *op = colon ? xstrndup(tensor, (size_t)(colon - tensor)) : xstrndup(tensor, strlen(tensor));
    if (colon) {
        char *end;
        long index = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || index < 0) {
            free(op);
            *found = 0;
            return out;
        }
        out.index = (int)index;
    }
    out.oper = TF_GraphOperationByName(graph, op);
    free(op);
    *found = out.oper != NULL && out.index < TF_OperationNumOutputs(out.oper);
    return out;
}

static Signature *signature(const char *name, const char *flag) {
    for (int i = 0; i < meta.n_signatures; i++) {
        if (strcmp(meta.signatures[i].key, name) == 0) {
            return &meta.signatures[i];
        }
    }
    char names[4096] = "";
    for (int i = 0; i < meta.n_signatures && strlen(names) + strlen(meta.signatures[i].key) + 3 < sizeof names; i++) {
        strcat(names, i ? ", " : "");
        strcat(names, meta.signatures[i].key);
    }
    bad("%s: no signature %s (%s); signatures: %s", export_dir, name, flag, names);
}

/* Resolves every tensor of a signature in the graph (a name the graph lacks: the export is broken). */
static void resolve(Signature *sig) {
    TensorInfo *lists[2] = {sig->inputs, sig->outputs};
    int counts[2] = {sig->n_inputs, sig->n_outputs};
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < counts[l]; i++) {
            int found;
            lists[l][i].output = output_of(lists[l][i].tensor, &found);
            if (!found) {
                fail("signature %s: %s %s names tensor '%s', which the loaded graph does not have", sig->key,
                     l ? "output" : "input", lists[l][i].key, lists[l][i].tensor);
            }
        }
    }
}

static const TensorInfo *info_of(const TensorInfo *infos, int n, const char *key) {
    for (int i = 0; i < n; i++) {
        if (strcmp(infos[i].key, key) == 0) {
            return &infos[i];
        }
    }
    return NULL;
}

/* A TF_Code as TF Python names its exception ("FailedPreconditionError"): the harness's expected-failure
 * patterns (expectations/*.toml) then read the C API's failures as they read the session loader's. */
static const char *error_name(TF_Code code) {
    static const char *names[] = {"OK", "CancelledError", "UnknownError", "InvalidArgumentError",
                                  "DeadlineExceededError", "NotFoundError", "AlreadyExistsError",
                                  "PermissionDeniedError", "ResourceExhaustedError", "FailedPreconditionError",
                                  "AbortedError", "OutOfRangeError", "UnimplementedError", "InternalError",
                                  "UnavailableError", "DataLossError", "UnauthenticatedError"};
    return (unsigned)code < sizeof names / sizeof names[0] ? names[code] : "UnknownError";
}

/* TF_SessionRun; on a failure exits naming `what`. outputs[] receives counted tensors. */
static void session_run(const char *what, const TF_Output *inputs, TF_Tensor *const *values, int n_inputs,
                        const TF_Output *fetches, TF_Tensor **outputs, int n_fetches, const TF_Operation *const *targets,
                        int n_targets) {
    TF_Status *status = TF_NewStatus();
    for (int i = 0; i < n_fetches; i++) {
        outputs[i] = NULL;
    }
    TF_SessionRun(session, NULL, inputs, values, n_inputs, fetches, outputs, n_fetches, targets, n_targets, NULL,
                  status);
    if (TF_GetCode(status) != TF_OK) {
        char *message = xsprintf("%s failed: %s: %s", what, error_name(TF_GetCode(status)), TF_Message(status));
        TF_DeleteStatus(status);
        fail("%s", message);
    }
    TF_DeleteStatus(status);
    for (int i = 0; i < n_fetches; i++) {
        counted(outputs[i]);
    }
}

/* Calls a signature as the TF1 session loader does: its inputs fed, every output fetched.
 * feeds[i] is the tensor of sig->inputs[i]; outputs[i] receives sig->outputs[i]'s. */
static void call(const Signature *sig, TF_Tensor *const *feeds, TF_Tensor **outputs) {
    TF_Output in[MAX_IO], out[MAX_IO];
    for (int i = 0; i < sig->n_inputs; i++) {
        in[i] = sig->inputs[i].output;
    }
    for (int i = 0; i < sig->n_outputs; i++) {
        out[i] = sig->outputs[i].output;
    }
    char what[512];
    snprintf(what, sizeof what, "signature %s", sig->key);
    session_run(what, in, feeds, sig->n_inputs, out, outputs, sig->n_outputs, NULL, 0);
}

/* A saver_def name: a tensor ("op:0", fetched) or an op (run as a target), as Session.run takes either. */
static void run_saver(const char *what, const char *name, const char *prefix) {
    int found;
    TF_Output filename = output_of(meta.filename, &found);
    if (!found) {
        fail("%s: the saver_def's filename_tensor_name '%s' is not in the loaded graph", what, meta.filename);
    }
    TF_Tensor *path = string_scalar(prefix), *result = NULL;
    if (strchr(name, ':') != NULL) {
        TF_Output fetch = output_of(name, &found);
        if (!found) {
            fail("%s: the saver_def names tensor '%s', which the loaded graph does not have", what, name);
        }
        session_run(what, &filename, &path, 1, &fetch, &result, 1, NULL, 0);
    } else {
        const TF_Operation *op = TF_GraphOperationByName(graph, name);
        if (op == NULL) {
            fail("%s: the saver_def names op '%s', which the loaded graph does not have", what, name);
        }
        session_run(what, &filename, &path, 1, NULL, NULL, 0, &op, 1);
    }
    release(result);
    release(path);
}

/* ---------------------------------------------------------------- inputs */

typedef struct {
    int n;
    Npy arrays[MAX_IO]; /* arrays[i] feeds sig->inputs[i] */
} Inputs;

static int fits(const int64_t *shape, int rank, const TensorInfo *want) {
    if (want->unknown_rank) {
        return 1;
    }
    if (want->rank != rank) {
        return 0;
    }
    for (int i = 0; i < rank; i++) {
        if (want->dims[i] >= 0 && want->dims[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

static void shape_text(char *out, size_t size, const int64_t *dims, int rank, int unknown_rank) {
    size_t at = (size_t)snprintf(out, size, unknown_rank ? "<unknown>" : "(");
    for (int i = 0; !unknown_rank && i < rank && at < size; i++) {
        at += dims[i] < 0 ? (size_t)snprintf(out + at, size - at, "%s-1", i ? ", " : "")
                          : (size_t)snprintf(out + at, size - at, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    if (!unknown_rank && at < size) {
        snprintf(out + at, size - at, rank == 1 ? ",)" : ")");
    }
}

/* The arrays a signature's inputs need, checked against it: one <role>.<input>.npy per input, no
 * other <role>.*.npy, dtypes equal, shapes compatible (per step when stacked). */
static void inputs_of(const Signature *sig, const char *role, int stacked, Inputs *in) {
    in->n = sig->n_inputs;
    for (int i = 0; i < sig->n_inputs; i++) {
        const TensorInfo *want = &sig->inputs[i];
        char *path = xsprintf("%s/%s.%s.npy", inputs_dir, role, want->key);
        char error[1024];
        if (want->sparse) {
            bad("%s: input %s of signature %s is sparse or composite: not supported", export_dir, want->key, sig->key);
        }
        if (access(path, F_OK) != 0) {
            bad("%s: missing (input %s of signature %s)", path, want->key, sig->key);
        }
        Npy *npy = &in->arrays[i];
        if (!npy_read(path, npy, error, sizeof error)) {
            bad("%s: %s", path, error);
        }
        if ((int)npy->dtype->type != want->dtype) {
            bad("%s: %s but input %s of signature %s is %s", path, npy->dtype->descr, want->key, sig->key,
                tf_type_name(want->dtype));
        }
        int rank = stacked ? (npy->rank ? npy->rank - 1 : 0) : npy->rank;
        const int64_t *shape = stacked && npy->rank ? npy->shape + 1 : npy->shape;
        if ((stacked && npy->rank == 0) || !fits(shape, rank, want)) {
            char have[512], wants[512];
            shape_text(have, sizeof have, npy->shape, npy->rank, 0);
            shape_text(wants, sizeof wants, want->dims, want->rank, want->unknown_rank);
            bad("%s: shape %s%s does not fit input %s of signature %s: %s", path, have,
                stacked ? " ([steps, ...])" : "", want->key, sig->key, wants);
        }
        free(path);
    }
    /* A stray file is most likely a misspelt input: refuse it rather than train without it. */
    DIR *dir = opendir(inputs_dir);
    if (dir == NULL) {
        bad("%s: cannot list: %s", inputs_dir, strerror(errno));
    }
    struct dirent *entry;
    size_t prefix = strlen(role) + 1;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        size_t n = strlen(name);
        if (n <= prefix + 4 || strncmp(name, role, prefix - 1) != 0 || name[prefix - 1] != '.' ||
            strcmp(name + n - 4, ".npy") != 0) {
            continue;
        }
        char *input = xstrndup(name + prefix, n - prefix - 4);
        if (info_of(sig->inputs, sig->n_inputs, input) == NULL) {
            char names[2048] = "";
            for (int i = 0; i < sig->n_inputs && strlen(names) + strlen(sig->inputs[i].key) + 3 < sizeof names; i++) {
                strcat(names, i ? ", " : "");
                strcat(names, sig->inputs[i].key);
            }
            bad("%s/%s: signature %s has no input %s (inputs: %s)", inputs_dir, name, sig->key, input, names);
        }
        free(input);
    }
    closedir(dir);
}

static void free_inputs(Inputs *in) {
    for (int i = 0; i < in->n; i++) {
        npy_free(&in->arrays[i]);
    }
    in->n = 0;
}

/* The tensors of one call: row `row` of each stacked array, or (row < 0) each whole array. */
static void feeds_of(const Inputs *in, long row, TF_Tensor **feeds) {
    for (int i = 0; i < in->n; i++) {
        const Npy *npy = &in->arrays[i];
        if (row < 0) {
            feeds[i] = numeric_tensor(npy->dtype->type, npy->shape, npy->rank, npy->bytes + npy->data_start,
                                      npy->data_length);
        } else {
            size_t row_bytes = npy->data_length / (size_t)npy->shape[0]; /* row < rows: shape[0] > 0 */
            feeds[i] = numeric_tensor(npy->dtype->type, npy->shape + 1, npy->rank - 1,
                                      npy->bytes + npy->data_start + (size_t)row * row_bytes, row_bytes);
        }
    }
}

static void release_all(TF_Tensor **tensors, int n) {
    for (int i = 0; i < n; i++) {
        release(tensors[i]);
        tensors[i] = NULL;
    }
}

/* ---------------------------------------------------------------- files */

static void mkdirs(const char *path) {
    char *p = xstrndup(path, strlen(path));
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                bad("%s: cannot create directory: %s", p, strerror(errno));
            }
            *s = '/';
        }
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        bad("%s: cannot create directory: %s", p, strerror(errno));
    }
    free(p);
}

static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An output's name as a file name (freed by the caller): bytes outside [A-Za-z0-9_.-] as %XX (an Estimator's
   "predictions/probabilities"), every dot too if the name is only dots; as TrainExport.fileName does. */
static char *file_name(const char *name) {
    int dots = strspn(name, ".") == strlen(name);
    char *out = malloc(3 * strlen(name) + 1), *at = out;
    if (!out) {
        fail("out of memory");
    }
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
            *c == '-' || (*c == '.' && !dots)) {
            *at++ = (char)*c;
        } else {
            at += sprintf(at, "%%%02X", *c);
        }
    }
    *at = 0;
    return out;
}

/* ---------------------------------------------------------------- JSON */

typedef struct {
    char *text;
    size_t length, capacity;
} Text;

static void put(Text *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void put(Text *t, const char *format, ...) {
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (t->length + (size_t)n + 1 > t->capacity) {
        t->capacity = 2 * (t->length + (size_t)n + 1);
        t->text = realloc(t->text, t->capacity);
        if (t->text == NULL) {
            fail("out of memory");
        }
    }
    vsnprintf(t->text + t->length, (size_t)n + 1, format, again);
    va_end(again);
    t->length += (size_t)n;
}

static void put_string(Text *t, const char *s) {
    if (s == NULL) {
        put(t, "null");
        return;
    }
    put(t, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            put(t, "\\%c", *c);
        } else if (*c < 0x20) {
            put(t, "\\u%04x", *c);
        } else {
            put(t, "%c", *c);
        }
    }
    put(t, "\"");
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0) { /* zero or subnormal: mantissa * 2^-24 */
        float magnitude = (float)mantissa / 16777216.0f;
        return sign ? -magnitude : magnitude;
    }
    bits = exponent == 0x1f ? sign | 0x7f800000u | mantissa << 13 : sign | (exponent + 112) << 23 | mantissa << 13;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Element `i` as JSON that parses back to the same bits (floats: 9 or 17 significant digits). */
static void put_number(Text *t, const DType *dtype, const uint8_t *data, size_t i) {
    const uint8_t *at = data + i * dtype->size;
    union {
        float f;
        double d;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
    } v;
    memcpy(&v, at, dtype->size > 8 ? 8 : dtype->size);
    double x;
    switch (dtype->type) {
    case TF_HALF: x = half_to_float(v.u16); break;
    case TF_FLOAT: x = v.f; break;
    case TF_DOUBLE: x = v.d; break;
    case TF_COMPLEX64: memcpy(&v.f, at, 4); x = v.f; break; /* the real part only */
    case TF_COMPLEX128: memcpy(&v.d, at, 8); x = v.d; break;
    case TF_INT8: put(t, "%d", v.i8); return;
    case TF_INT16: put(t, "%d", v.i16); return;
    case TF_INT32: put(t, "%d", v.i32); return;
    case TF_INT64: put(t, "%lld", (long long)v.i64); return;
    case TF_UINT8: put(t, "%u", v.u8); return;
    case TF_UINT16: put(t, "%u", v.u16); return;
    case TF_UINT32: put(t, "%u", v.u32); return;
    case TF_UINT64: put(t, "%llu", (unsigned long long)v.u64); return;
    case TF_BOOL: put(t, v.u8 ? "true" : "false"); return;
    default: put(t, "null"); return;
    }
    if (x != x || x == 1.0 / 0.0 || x == -1.0 / 0.0) {
        put(t, "\"%s\"", x != x ? "nan" : x > 0 ? "inf" : "-inf");
    } else {
        put(t, "\"%.*g\"", dtype->type == TF_DOUBLE || dtype->type == TF_COMPLEX128 ? 17 : 9, x);
    }
}

/* ---------------------------------------------------------------- the plan */

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int loss_index(const Signature *train, const char *loss) {
    for (int i = 0; i < train->n_outputs; i++) {
        if (strcmp(train->outputs[i].key, loss) == 0) {
            return i;
        }
    }
    return -1;
}

/* The signature's checkpoint path input, checked: it takes just that one (a string). */
static void check_path_signature(const Signature *sig, const char *path_input, const char *flag) {
    if (sig->n_inputs != 1 || strcmp(sig->inputs[0].key, path_input) != 0) {
        char names[2048] = "";
        for (int i = 0; i < sig->n_inputs && strlen(names) + strlen(sig->inputs[i].key) + 3 < sizeof names; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, sig->inputs[i].key);
        }
        bad("%s: signature %s must take just %s %s; its inputs: %s", export_dir, sig->key, flag, path_input, names);
    }
    if (sig->inputs[0].dtype != TF_STRING) {
        bad("%s: input %s of signature %s is %s, not a string path", export_dir, path_input, sig->key,
            tf_type_name(sig->inputs[0].dtype));
    }
}

static void call_with_path(const Signature *sig, const char *prefix) {
    TF_Tensor *path = string_scalar(prefix), *outputs[MAX_IO];
    call(sig, &path, outputs);
    release_all(outputs, sig->n_outputs);
    release(path);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--tf-version") == 0) { /* which TensorFlow this binary runs */
        printf("%s\n", TF_Version());
        return 0;
    }
    parse(argc, argv);
    export_dir = required("--export");
    inputs_dir = required("--inputs");
    out_dir = required("--out");
    int threads = (int)int_option("--threads", 1, 1);
    int bench = (int)int_option("--bench", 0, 0);
    const char *tags_text = option("--tags", "serve");
    const char *saver_save = option("--saver-save", "yes");
    const char *restore_way = option("--restore", NULL);
    if (strcmp(saver_save, "yes") != 0 && strcmp(saver_save, "no") != 0) {
        bad("--saver-save must be yes or no, got %s", saver_save);
    }
    if (restore_way && strcmp(restore_way, "saver") != 0 && strcmp(restore_way, "signature") != 0) {
        bad("--restore must be saver or signature, got %s", restore_way);
    }
    if ((restore_way == NULL) != (option("--restore-prefix", NULL) == NULL)) {
        bad("--restore and --restore-prefix go together; %s", USAGE);
    }
    if (restore_way && strcmp(restore_way, "signature") == 0 && option("--restore-signature", NULL) == NULL) {
        bad("--restore signature needs --restore-signature; %s", USAGE);
    }
    if (option("--save-signature", NULL) == NULL &&
        (option("--save-path-input", NULL) != NULL || option("--signature-dir", NULL) != NULL)) {
        bad("--save-path-input and --signature-dir need --save-signature; %s", USAGE);
    }
    char *pb_path = xsprintf("%s/saved_model.pb", export_dir), *pbtxt_path = xsprintf("%s/saved_model.pbtxt", export_dir);
    if (!is_directory(export_dir)) {
        bad("%s: export directory does not exist", export_dir);
    }
    if (access(pb_path, F_OK) != 0 && access(pbtxt_path, F_OK) != 0) {
        bad("%s: not a SavedModel (no saved_model.pb)", export_dir);
    }
    free(pb_path), free(pbtxt_path);
    if (!is_directory(inputs_dir)) {
        bad("%s: inputs directory does not exist", inputs_dir);
    }

    /* Load: the meta graph of the tag set, with fixed thread counts (a ConfigProto of two varints:
     * 2 intra_op_parallelism_threads, 5 inter_op_parallelism_threads). */
    set_stage("load");
    char *tags_copy = xstrndup(tags_text, strlen(tags_text));
    const char *tags[64];
    int n_tags = 0;
    for (char *save, *tag = strtok_r(tags_copy, ",", &save); tag; tag = strtok_r(NULL, ",", &save)) {
        if (n_tags == 64) {
            bad("--tags: more than 64 tags");
        }
        tags[n_tags++] = tag;
    }
    if (n_tags == 0) {
        bad("--tags: no tag in '%s'", tags_text);
    }
    uint8_t config[12];
    size_t config_length = 0;
    const int fields[2] = {2, 5};
    for (int f = 0; f < 2; f++) {
        config[config_length++] = (uint8_t)(fields[f] << 3);
        for (uint32_t v = (uint32_t)threads;; v >>= 7) {
            config[config_length++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f) {
                break;
            }
        }
    }
    TF_Status *status = TF_NewStatus();
    TF_SessionOptions *session_options = TF_NewSessionOptions();
    TF_SetConfig(session_options, config, config_length, status);
    if (TF_GetCode(status) != TF_OK) {
        fail("TF_SetConfig(%d threads): %s", threads, TF_Message(status));
    }
    graph = TF_NewGraph();
    TF_Buffer *meta_buffer = TF_NewBuffer();
    session = TF_LoadSessionFromSavedModel(session_options, NULL, export_dir, tags, n_tags, graph, meta_buffer, status);
    TF_DeleteSessionOptions(session_options);
    if (TF_GetCode(status) != TF_OK || session == NULL) {
        fail("%s: cannot load the SavedModel (tags %s): %s: %s", export_dir, tags_text, error_name(TF_GetCode(status)),
             TF_Message(status));
    }
    read_meta(meta_buffer, &meta);
    TF_DeleteBuffer(meta_buffer);

    /* Every input is checked before anything runs: bad input never leaves half an output behind. */
    const char *train_name = option("--train", "train"), *loss_name = option("--loss", "loss");
    Signature *train = signature(train_name, "--train");
    int loss_at = loss_index(train, loss_name);
    if (loss_at < 0) {
        char names[2048] = "";
        for (int i = 0; i < train->n_outputs && strlen(names) + strlen(train->outputs[i].key) + 3 < sizeof names; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, train->outputs[i].key);
        }
        bad("%s: signature %s has no output %s (outputs: %s)", export_dir, train_name, loss_name, names);
    }
    Inputs train_inputs, predict_inputs = {0};
    inputs_of(train, "train", 1, &train_inputs);
    long rows = train_inputs.n ? (long)train_inputs.arrays[0].shape[0] : 0;
    for (int i = 1; i < train_inputs.n; i++) {
        if ((long)train_inputs.arrays[i].shape[0] != rows) {
            bad("%s: %lld steps, but %s has %ld", train_inputs.arrays[i].path, (long long)train_inputs.arrays[i].shape[0],
                train_inputs.arrays[0].path, rows);
        }
    }
    long steps = int_option("--steps", rows, 0);
    if (steps > rows) {
        bad("%s: --steps %ld but the train.*.npy files hold %ld steps", inputs_dir, steps, rows);
    }
    if (bench > 0 && rows == 0) {
        bad("%s: --bench needs at least one step in the train.*.npy files", inputs_dir);
    }
    const char *predict_name = option("--predict", NULL);
    Signature *predict = predict_name ? signature(predict_name, "--predict") : NULL;
    if (predict) {
        inputs_of(predict, "predict", 0, &predict_inputs);
    }
    const char *save_name = option("--save-signature", NULL);
    const char *save_path_input = option("--save-path-input", "checkpoint_path");
    Signature *save = save_name ? signature(save_name, "--save-signature") : NULL;
    if (save) {
        check_path_signature(save, save_path_input, "--save-path-input");
    }
    const char *restore_prefix = option("--restore-prefix", NULL);
    const char *restore_name = option("--restore-signature", NULL);
    const char *restore_path_input = option("--restore-path-input", "checkpoint_path");
    Signature *restore = restore_name ? signature(restore_name, "--restore-signature") : NULL;
    if (restore) {
        check_path_signature(restore, restore_path_input, "--restore-path-input");
    }
    Signature *used[] = {train, predict, save, restore};
    for (int i = 0; i < 4; i++) {
        if (used[i]) {
            resolve(used[i]);
        }
    }
    char *default_saver = xsprintf("%s/saver", out_dir), *default_signature = xsprintf("%s/signature", out_dir);
    const char *save_dir = option("--save-dir", default_saver);
    const char *signature_dir = option("--signature-dir", default_signature);
    mkdirs(out_dir);

    Text files = {0}, skipped = {0};
    put(&files, "{");
    put(&skipped, "[");
    char *saver_prefix = NULL, *signature_prefix = NULL;

    if (restore_way) {
        set_stage("restore");
        if (strcmp(restore_way, "saver") == 0) {
            if (!meta.has_saver || !meta.filename || !meta.restore) {
                fail("%s: the meta graph has no saver_def to restore %s with", export_dir, restore_prefix);
            }
            char *what = xsprintf("the saver_def's restore op %s (%s)", meta.restore, restore_prefix);
            run_saver(what, meta.restore, restore_prefix);
            free(what);
        } else {
            call_with_path(restore, restore_prefix);
        }
    }

    /* Train: one call per step on row `step`; losses.npy is [steps, *loss shape]. */
    set_stage("train");
    const TensorInfo *loss_info = &train->outputs[loss_at];
    const DType *loss_type = dtype_of((TF_DataType)loss_info->dtype);
    int64_t loss_dims[NPY_MAX_RANK + 1] = {steps};
    int loss_rank = -1;
    size_t loss_bytes = 0;
    uint8_t *losses = NULL;
    TF_Tensor *feeds[MAX_IO], *outputs[MAX_IO];
    for (long step = 0; step < steps; step++) {
        feeds_of(&train_inputs, step, feeds);
        call(train, feeds, outputs);
        TF_Tensor *loss = outputs[loss_at];
        loss_type = dtype_of(TF_TensorType(loss));
        if (loss_type == NULL) {
            fail("signature %s: output %s is %s, not a number", train_name, loss_name, tf_type_name(TF_TensorType(loss)));
        }
        int rank = TF_NumDims(loss);
        if (loss_rank >= 0 && (rank != loss_rank || TF_TensorByteSize(loss) != loss_bytes)) {
            fail("signature %s: output %s changed shape at step %ld", train_name, loss_name, step);
        }
        loss_rank = rank;
        for (int d = 0; d < rank && d < NPY_MAX_RANK; d++) {
            loss_dims[d + 1] = TF_Dim(loss, d);
        }
        loss_bytes = TF_TensorByteSize(loss);
        uint8_t *grown = realloc(losses, (size_t)(step + 1) * loss_bytes + 1);
        if (grown == NULL) {
            fail("out of memory");
        }
        losses = grown;
        memcpy(losses + (size_t)step * loss_bytes, TF_TensorData(loss), loss_bytes);
        release_all(outputs, train->n_outputs);
        release_all(feeds, train_inputs.n);
    }
    if (loss_type == NULL) {
        loss_type = dtype_of(TF_FLOAT); /* no step, and a loss numpy has no dtype for: an empty float32 array */
    }
    if (loss_rank < 0) { /* no step: the signature's own shape, where it is known */
        loss_rank = loss_info->unknown_rank ? 0 : loss_info->rank;
        for (int d = 0; d < loss_rank; d++) {
            loss_dims[d + 1] = loss_info->dims[d] < 0 ? 0 : loss_info->dims[d];
        }
    }
    char *losses_path = xsprintf("%s/losses.npy", out_dir);
    if (!npy_write(losses_path, loss_type, loss_rank + 1, loss_dims, losses, (size_t)steps * loss_bytes)) {
        fail("%s: cannot be written: %s", losses_path, strerror(errno));
    }
    put(&files, "\"losses\": ");
    put_string(&files, losses_path);
    Text loss_json = {0};
    put(&loss_json, "[");
    size_t per_step = loss_bytes / loss_type->size;
    for (long step = 0; step < steps; step++) {
        put(&loss_json, step ? ", " : "");
        put(&loss_json, per_step == 1 ? "" : "[");
        for (size_t i = 0; i < per_step; i++) {
            put(&loss_json, i ? ", " : "");
            put_number(&loss_json, loss_type, losses + (size_t)step * loss_bytes, i);
        }
        put(&loss_json, per_step == 1 ? "" : "]");
    }
    put(&loss_json, "]");

    /* Predict: one call; predict.<output>.npy per numeric output. */
    if (predict) {
        set_stage("predict");
        feeds_of(&predict_inputs, -1, feeds);
        call(predict, feeds, outputs);
        int n_skipped = 0;
        for (int i = 0; i < predict->n_outputs; i++) {
            TF_Tensor *t = outputs[i];
            const DType *type = dtype_of(TF_TensorType(t));
            if (type == NULL) { /* strings, bfloat16 and other types numpy has not are not compared */
                put(&skipped, "%s", n_skipped++ ? ", " : "");
                put_string(&skipped, predict->outputs[i].key);
                continue;
            }
            int64_t dims[NPY_MAX_RANK];
            int rank = TF_NumDims(t);
            if (rank > NPY_MAX_RANK) {
                fail("signature %s: output %s has %d dimensions", predict_name, predict->outputs[i].key, rank);
            }
            for (int d = 0; d < rank; d++) {
                dims[d] = TF_Dim(t, d);
            }
            char *file = file_name(predict->outputs[i].key);
            char *path = xsprintf("%s/predict.%s.npy", out_dir, file);
            free(file);
            if (!npy_write(path, type, rank, dims, TF_TensorData(t), TF_TensorByteSize(t))) {
                fail("%s: cannot be written: %s", path, strerror(errno));
            }
            put(&files, ", ");
            char *key = xsprintf("predict.%s", predict->outputs[i].key);
            put_string(&files, key);
            put(&files, ": ");
            put_string(&files, path);
            free(key), free(path);
        }
        release_all(outputs, predict->n_outputs);
        release_all(feeds, predict_inputs.n);
    }
    put(&files, "}");
    put(&skipped, "]");

    /* Save through the saver_def (what the session loader's save_variables does), then the save signature. */
    if (strcmp(saver_save, "yes") == 0) {
        set_stage("save");
        if (!meta.has_saver || !meta.filename || !meta.save) {
            fail("%s: the meta graph has no saver_def to save with", export_dir);
        }
        mkdirs(save_dir);
        saver_prefix = xsprintf("%s/variables", save_dir);
        char *what = xsprintf("the saver_def's save %s (%s)", meta.save, saver_prefix);
        run_saver(what, meta.save, saver_prefix);
        free(what);
    }
    if (save) {
        set_stage("save_signature");
        mkdirs(signature_dir);
        signature_prefix = xsprintf("%s/checkpoint", signature_dir);
        call_with_path(save, signature_prefix);
    }

    /* --bench N: N untimed calls, then N timed, tensors made per call and the loss copied out, as the
     * harness's own train step does. After the saves: the trajectory and checkpoints are unaffected. */
    Text bench_json = {0};
    if (bench > 0) {
        set_stage("bench");
        double *us = xmalloc((size_t)bench * sizeof *us), sum = 0;
        uint8_t *copy = xmalloc(loss_bytes ? loss_bytes : 64);
        for (long i = -bench; i < bench; i++) {
            double start = now_us();
            feeds_of(&train_inputs, ((i % rows) + rows) % rows, feeds);
            call(train, feeds, outputs);
            memcpy(copy, TF_TensorData(outputs[loss_at]), TF_TensorByteSize(outputs[loss_at]) < loss_bytes
                                                              ? TF_TensorByteSize(outputs[loss_at]) : loss_bytes);
            release_all(outputs, train->n_outputs);
            release_all(feeds, train_inputs.n);
            if (i >= 0) {
                us[i] = now_us() - start;
                sum += us[i];
            }
        }
        qsort(us, (size_t)bench, sizeof *us, compare_doubles);
        double median = bench % 2 ? us[bench / 2] : (us[bench / 2 - 1] + us[bench / 2]) / 2;
        put(&bench_json, "{\"calls\": %d, \"median_us\": %.3f, \"mean_us\": %.3f, \"min_us\": %.3f, \"max_us\": %.3f}",
            bench, median, sum / bench, us[0], us[bench - 1]);
        free(us), free(copy);
    }

    /* Close everything, then the summary. */
    free_inputs(&train_inputs);
    free_inputs(&predict_inputs);
    TF_CloseSession(session, status);
    if (TF_GetCode(status) != TF_OK) {
        fail("TF_CloseSession: %s", TF_Message(status));
    }
    TF_DeleteSession(session, status);
    TF_DeleteStatus(status);
    TF_DeleteGraph(graph);

    Text summary = {0};
    put(&summary, "{\"tensorflow\": ");
    put_string(&summary, TF_Version());
    put(&summary, ", \"export\": ");
    put_string(&summary, export_dir);
    put(&summary, ", \"tags\": [");
    for (int i = 0; i < n_tags; i++) {
        put(&summary, "%s", i ? ", " : "");
        put_string(&summary, tags[i]);
    }
    put(&summary, "], \"threads\": %d, \"steps\": %ld, \"loss_dtype\": \"%s\", \"losses\": %s, \"files\": %s", threads,
        steps, loss_type->descr, loss_json.text, files.text);
    put(&summary, ", \"skipped_outputs\": %s, \"saver_checkpoint\": ", skipped.text);
    put_string(&summary, saver_prefix);
    put(&summary, ", \"signature_checkpoint\": ");
    put_string(&summary, signature_prefix);
    put(&summary, ", \"restored\": ");
    if (restore_way) {
        put(&summary, "{\"way\": ");
        put_string(&summary, restore_way);
        put(&summary, ", \"prefix\": ");
        put_string(&summary, restore_prefix);
        put(&summary, "}");
    } else {
        put(&summary, "null");
    }
    /* How each signature the run called was resolved to the graph's tensors (from the MetaGraphDef). */
    put(&summary, ", \"resolved\": {");
    int first = 1;
    for (int s = 0; s < 4; s++) {
        const Signature *sig = used[s];
        if (sig == NULL || (s == 3 && (restore_way == NULL || strcmp(restore_way, "signature") != 0))) {
            continue;
        }
        put(&summary, "%s", first ? "" : ", ");
        first = 0;
        put_string(&summary, sig->key);
        put(&summary, ": {\"inputs\": {");
        for (int i = 0; i < sig->n_inputs; i++) {
            put(&summary, "%s", i ? ", " : "");
            put_string(&summary, sig->inputs[i].key);
            put(&summary, ": ");
            put_string(&summary, sig->inputs[i].tensor);
        }
        put(&summary, "}, \"outputs\": {");
        for (int i = 0; i < sig->n_outputs; i++) {
            put(&summary, "%s", i ? ", " : "");
            put_string(&summary, sig->outputs[i].key);
            put(&summary, ": ");
            put_string(&summary, sig->outputs[i].tensor);
        }
        put(&summary, "}}");
    }
    put(&summary, "}, \"saver_def\": ");
    if (meta.has_saver) {
        put(&summary, "{\"filename_tensor_name\": ");
        put_string(&summary, meta.filename);
        put(&summary, ", \"save_tensor_name\": ");
        put_string(&summary, meta.save);
        put(&summary, ", \"restore_op_name\": ");
        put_string(&summary, meta.restore);
        put(&summary, "}");
    } else {
        put(&summary, "null");
    }
    put(&summary, ", \"bench\": %s, \"unreleased_tensors\": %ld}", bench > 0 ? bench_json.text : "null", live_tensors);

    char *summary_path = xsprintf("%s/summary.json", out_dir);
    FILE *f = fopen(summary_path, "w");
    if (f == NULL || fprintf(f, "%s\n", summary.text) < 0 || fclose(f) != 0) {
        fail("%s: cannot be written: %s", summary_path, strerror(errno));
    }
    printf("%s\n", summary.text);
    fflush(stdout);

    free(summary.text), free(files.text), free(skipped.text), free(loss_json.text), free(bench_json.text);
    free(summary_path), free(losses_path), free(losses), free(saver_prefix), free(signature_prefix);
    free(default_saver), free(default_signature), free(tags_copy);
    free_meta(&meta);
    return 0;
}
