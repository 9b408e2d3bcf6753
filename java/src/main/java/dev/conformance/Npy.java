package dev.conformance;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.ByteDataBuffer;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/**
 * One NumPy .npy array held in memory: a strict reader (format 1.0 to 3.0, the dtypes the harness
 * feeds, C order only) and a minimal writer. Bytes go into TF tensors as one bulk copy: TF tensors
 * are in the host's byte order, so only little-endian data on a little-endian host is accepted.
 */
final class Npy {

    /** The dtypes the harness feeds, spelled as numpy writes them on a little-endian host. */
    enum DType {
        F2("<f2", 2, TFloat16.class, DataType.DT_HALF),
        F4("<f4", 4, TFloat32.class, DataType.DT_FLOAT),
        F8("<f8", 8, TFloat64.class, DataType.DT_DOUBLE),
        I4("<i4", 4, TInt32.class, DataType.DT_INT32),
        I8("<i8", 8, TInt64.class, DataType.DT_INT64),
        B1("|b1", 1, TBool.class, DataType.DT_BOOL);

        final String descr;
        final int size;
        final Class<? extends TType> type;
        final DataType dataType;

        DType(String descr, int size, Class<? extends TType> type, DataType dataType) {
            this.descr = descr;
            this.size = size;
            this.type = type;
            this.dataType = dataType;
        }

        /** A new empty tensor of this type. The caller closes it. */
        Tensor empty() {
            return Tensor.of(type, Shape.of(0));
        }

        /** The dtype of a TF data type, or null when the harness does not compare it (strings...). */
        static DType of(DataType dataType) {
            for (DType d : values()) {
                if (d.dataType == dataType) {
                    return d;
                }
            }
            return null;
        }

        /** Element `index` as a decimal string that parses back to the same bits (JSON summaries). */
        String format(byte[] data, int index) {
            ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            int at = index * size;
            switch (this) {
                case F2: return Float.toString(halfToFloat(b.getShort(at)));
                case F4: return Float.toString(b.getFloat(at));
                case F8: return Double.toString(b.getDouble(at));
                case I4: return Integer.toString(b.getInt(at));
                case I8: return Long.toString(b.getLong(at));
                default: return data[at] != 0 ? "true" : "false";
            }
        }
    }

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    // One "'key': value" entry of the header dict; values are a string, a boolean or an int tuple.
    private static final Pattern ENTRY =
            Pattern.compile("\\G\\s*'(\\w+)'\\s*:\\s*('[^']*'|True|False|\\([0-9,\\s]*\\))\\s*(?:,|$)");
    private static final Set<String> HEADER_KEYS = Set.of("descr", "fortran_order", "shape");
    // (), (n,), (n, m), (n, m,): a one-element tuple needs its comma, as in Python.
    private static final Pattern TUPLE = Pattern.compile("\\(\\s*\\)|\\(\\s*(?:\\d+\\s*,\\s*)+(?:\\d+\\s*)?\\)");

    final Path path;
    final DType dtype;
    final long[] shape;
    private final byte[] bytes; // the whole file
    private final int dataStart;

    private Npy(Path path, DType dtype, long[] shape, byte[] bytes, int dataStart) {
        this.path = path;
        this.dtype = dtype;
        this.shape = shape;
        this.bytes = bytes;
        this.dataStart = dataStart;
    }

    static Npy read(Path path) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw bad(path, "this host is big-endian; only little-endian hosts are supported");
        }
        byte[] b;
        try {
            b = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw bad(path, "does not exist");
        } catch (IOException | OutOfMemoryError e) {
            throw bad(path, "cannot be read: " + e);
        }
        if (b.length < 10 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC)) {
            throw bad(path, "not a .npy file (no \\x93NUMPY magic)");
        }
        int major = b[6], minor = b[7];
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = Short.toUnsignedInt(le.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (b.length < 12) {
                throw bad(path, "truncated in its header");
            }
            headerLength = Integer.toUnsignedLong(le.getInt(8));
            headerStart = 12;
        } else {
            throw bad(path, "unsupported .npy format version " + major + "." + minor);
        }
        if (headerStart + headerLength > b.length) {
            throw bad(path, "truncated: the header says " + headerLength + " bytes, the file is " + b.length);
        }
        int dataStart = (int) (headerStart + headerLength);
        String header = new String(b, headerStart, (int) headerLength,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).strip();
        Map<String, String> fields = parseHeader(path, header);

        String descr = fields.get("descr");
        descr = descr.substring(1, descr.length() - 1);
        DType dtype = null;
        for (DType d : DType.values()) {
            if (d.descr.equals(descr)) {
                dtype = d;
            }
        }
        if (dtype == null) {
            String supported = Arrays.stream(DType.values()).map(d -> d.descr).collect(Collectors.joining(" "));
            throw bad(path, "dtype '" + descr + "' is not supported (supported: " + supported + ", little-endian)");
        }
        if (!fields.get("fortran_order").equals("False")) {
            throw bad(path, "Fortran-order data is not supported: save it in C order");
        }
        String tuple = fields.get("shape");
        if (!TUPLE.matcher(tuple).matches()) {
            throw bad(path, "header shape " + tuple + " is not a tuple of sizes");
        }
        List<Long> dims = new ArrayList<>();
        Matcher number = Pattern.compile("\\d+").matcher(tuple);
        while (number.find()) {
            dims.add(Long.parseLong(number.group()));
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long expected;
        try {
            expected = Math.multiplyExact(Arrays.stream(shape).reduce(1, Math::multiplyExact), (long) dtype.size);
        } catch (ArithmeticException e) {
            throw bad(path, "shape " + tuple + " is too large");
        }
        long actual = b.length - dataStart;
        if (actual != expected) {
            throw bad(path, "holds " + actual + " data bytes; shape " + tuple + " of " + descr + " needs " + expected
                    + (actual < expected ? " (truncated?)" : ""));
        }
        return new Npy(path, dtype, shape, b, dataStart);
    }

    private static Map<String, String> parseHeader(Path path, String header) {
        if (!header.startsWith("{") || !header.endsWith("}")) {
            throw bad(path, "header is not a dict: " + abbreviate(header));
        }
        String body = header.substring(1, header.length() - 1);
        Map<String, String> fields = new HashMap<>();
        Matcher m = ENTRY.matcher(body);
        int end = 0;
        while (end < body.length() && m.find()) {
            if (fields.put(m.group(1), m.group(2)) != null) {
                throw bad(path, "header repeats '" + m.group(1) + "'");
            }
            end = m.end();
        }
        boolean complete = body.substring(end).isBlank();
        if (!complete || !fields.keySet().equals(HEADER_KEYS) || !fields.get("descr").startsWith("'")
                || !fields.get("fortran_order").matches("True|False")) {
            throw bad(path, "header is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}: " + abbreviate(header));
        }
        return fields;
    }

    long rows() {
        return shape.length == 0 ? 0 : shape[0];
    }

    /** A new tensor holding the whole array. The caller closes it. */
    Tensor tensor() {
        return tensor(shape, dataStart, bytes.length - dataStart);
    }

    /** A new tensor holding row `row` of a stacked array ([rows, ...] -> [...]). The caller closes it. */
    Tensor row(long row) {
        long[] rowShape = Arrays.copyOfRange(shape, 1, shape.length);
        long rowBytes = (bytes.length - dataStart) / shape[0]; // row < rows, so shape[0] > 0
        return tensor(rowShape, dataStart + row * rowBytes, rowBytes);
    }

    private Tensor tensor(long[] dims, long offset, long length) {
        ByteDataBuffer data = DataBuffers.of(bytes, true, false).slice(offset, length);
        return Tensor.of(dtype.type, dims.length == 0 ? Shape.scalar() : Shape.of(dims), data);
    }

    /** The raw bytes of a tensor, in the host's (little-endian) order: one bulk copy. */
    static byte[] bytesOf(Tensor tensor) {
        byte[] out = new byte[Math.toIntExact(tensor.numBytes())];
        tensor.asRawTensor().data().read(out);
        return out;
    }

    /** Writes an array as .npy (format 1.0, C order): beside the target first, then renamed over it. */
    static void write(Path path, DType dtype, long[] shape, byte[] data) throws IOException {
        String dims = shape.length == 1 ? "(" + shape[0] + ",)"
                : Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "(", ")"));
        String dict = "{'descr': '" + dtype.descr + "', 'fortran_order': False, 'shape': " + dims + ", }";
        int unpadded = MAGIC.length + 4 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n"; // numpy aligns data to 64 bytes
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        Path tmp = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.write(tmp, out.array());
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** IEEE half-precision bits to the float of the same value (exact: every half is a float). */
    static float halfToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h >>> 15) << 31, exponent = (h >>> 10) & 0x1f, mantissa = h & 0x3ff;
        if (exponent == 0) { // zero or subnormal: mantissa * 2^-24
            float magnitude = Math.scalb((float) mantissa, -24);
            return sign != 0 ? -magnitude : magnitude;
        }
        int bits = exponent == 0x1f ? sign | 0x7f800000 | mantissa << 13 // infinity, NaN (payload kept)
                : sign | (exponent + 112) << 23 | mantissa << 13;
        return Float.intBitsToFloat(bits);
    }

    private static String abbreviate(String text) {
        return text.length() <= 120 ? text : text.substring(0, 120) + "...";
    }

    private static TrainExport.BadInput bad(Path path, String problem) {
        return new TrainExport.BadInput(path + ": " + problem);
    }
}
