/* A minimal protocol-buffer reader: just what train_export.c needs of a MetaGraphDef.
 *
 * Reads the wire format (varints, fixed32/64, length-delimited fields); no schema, no allocation.
 * The messages read (field numbers from tensorflow/core/protobuf/meta_graph.proto, saver.proto and
 * tensorflow/core/framework/tensor_shape.proto):
 *
 *   MetaGraphDef   1 meta_info_def (MetaInfoDef: 4 tags), 3 saver_def, 5 signature_def (map)
 *   SaverDef       1 filename_tensor_name, 2 save_tensor_name, 3 restore_op_name
 *   SignatureDef   1 inputs (map<string, TensorInfo>), 2 outputs (map), 3 method_name
 *   TensorInfo     1 name, 2 dtype, 3 tensor_shape, 4 coo_sparse, 5 composite_tensor
 *   TensorShapeProto  2 dim (Dim: 1 size), 3 unknown_rank
 *   map entries    1 key, 2 value
 */
#ifndef TRAIN_EXPORT_PB_H_
#define TRAIN_EXPORT_PB_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *p, *end;
} Pb;

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_BYTES = 2, PB_FIXED32 = 5 };

static inline Pb pb_of(const void *data, size_t length) {
    Pb b = {(const uint8_t *)data, (const uint8_t *)data + length};
    return b;
}

static inline int pb_varint(Pb *b, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
        uint8_t c = *b->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* The next field of a message: 1 (with its number, wire type, and its value or bytes), 0 at the
 * end, -1 if the bytes are not a valid message. */
static inline int pb_next(Pb *b, uint32_t *field, int *wire, uint64_t *value, Pb *bytes) {
    uint64_t key, n;
    uint32_t v32;
    if (b->p >= b->end) {
        return 0;
    }
    if (!pb_varint(b, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
        return -1;
    }
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    *value = 0;
    switch (*wire) {
    case PB_VARINT:
        return pb_varint(b, value) ? 1 : -1;
    case PB_FIXED64:
        if (b->end - b->p < 8) {
            return -1;
        }
        memcpy(value, b->p, 8);
        b->p += 8;
        return 1;
    case PB_BYTES:
        if (!pb_varint(b, &n) || n > (uint64_t)(b->end - b->p)) {
            return -1;
        }
        bytes->p = b->p;
        bytes->end = b->p + n;
        b->p += n;
        return 1;
    case PB_FIXED32:
        if (b->end - b->p < 4) {
            return -1;
        }
        memcpy(&v32, b->p, 4);
        *value = v32;
        b->p += 4;
        return 1;
    default: /* groups (3, 4) are not used by these messages */
        return -1;
    }
}

#endif /* TRAIN_EXPORT_PB_H_ */
