package dev.conformance.worker;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.bytedeco.javacpp.Pointer;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.ByteDataBuffer;
import org.tensorflow.ndarray.buffer.LongDataBuffer;
import org.tensorflow.ndarray.impl.buffer.raw.RawDataBufferFactory;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * The JPype worker's per-call path, in Java: a signature call is one JPype crossing.
 *
 * <p>Python (harness/runtimes/java_worker.py) owns three memory areas and passes their addresses: a header
 * per call (per input: type code, rank, dims, address and byte count of the numpy array), a meta
 * area (what the outputs are) and a data area (the outputs' bytes). Each input becomes a new tensor
 * ({@code Tensor.of}) filled with one bulk copy (in parallel chunks when large), the signature is
 * called through its {@link SessionFunction}, each output is copied into the data area, and every
 * tensor is closed before the call returns. Python then reads the outputs with numpy.
 *
 * <p>The native pointers a call leaves alive (JavaCPP's count before and after it) are its result:
 * the harness's tensors.closed check.
 */
public final class Calls {
    /** Type codes: the order of TYPES in harness/runtimes/java_worker.py. */
    @SuppressWarnings("unchecked")
    static final Class<? extends TType>[] TYPES = new Class[] {
        TFloat16.class, TFloat32.class, TFloat64.class, TInt32.class, TInt64.class, TBool.class};
    /** An input that is a scalar string (its bytes: UTF-8 text), e.g. a checkpoint path. */
    static final int STRING = 100;
    /** An output that is not numeric (a string): not copied; Python leaves it out. */
    static final int SKIPPED = -1;
    /** call() result when the outputs did not fit: Python grows its areas, bind()s them and calls fetch(). */
    static final long PENDING = -1;

    /** Raw memory as ndarray buffers: no JavaCPP pointer is made, so the pointer count sees nothing. */
    private static final class Memory extends RawDataBufferFactory {
        static ByteDataBuffer bytes(long address, long bytes, boolean readOnly) {
            return mapNativeBytes(address, bytes, readOnly);
        }

        static LongDataBuffer longs(long address, long count, boolean readOnly) {
            return mapNativeLongs(address, count * Long.BYTES, readOnly); // the factory takes bytes
        }
    }

    /**
     * Copies of this many bytes and more are split across the CPUs: one core copies at ~7 GB/s on the
     * benchmark machine, two at ~11 (harness/runtimes/ipc.py splits its own copies alike).
     */
    static final long PARALLEL_COPY = 8L << 20;
    private static final int COPIERS = Math.min(4, Runtime.getRuntime().availableProcessors());
    private static ExecutorService copiers;

    private final SavedModelBundle bundle;
    private final Map<String, SessionFunction> functions = new HashMap<>();
    private final List<SessionFunction> prepared = new ArrayList<>();
    private final List<String[]> inputs = new ArrayList<>();
    private final List<String[]> outputs = new ArrayList<>();
    private long metaAddress, metaLongs, dataAddress, dataBytes;
    private final List<Tensor> pending = new ArrayList<>();
    private long[] pendingMeta;
    private final List<long[]> described = new ArrayList<>(); // per handle: its last call's outputs, as written to meta
    private long countBefore;
    private boolean leakInputs; // a planted fault (tests only): the pointer count must see it

    public Calls(SavedModelBundle bundle) {
        this.bundle = bundle;
    }

    /** Test-only planted fault: input tensors are left open, as a careless caller would. */
    public void plantLeak(boolean leak) {
        leakInputs = leak;
    }

    /** A handle to call `signature` with these inputs, in this order; outputs(handle) names its outputs. */
    public int prepare(String signature, String[] inputNames) {
        SessionFunction function = functions.computeIfAbsent(signature, bundle::function);
        prepared.add(function);
        described.add(null);
        inputs.add(inputNames.clone());
        outputs.add(function.signature().outputNames().toArray(new String[0]));
        return prepared.size() - 1;
    }

    public String[] outputs(int handle) {
        return outputs.get(handle).clone();
    }

    /** Where call() writes what the outputs are (longs) and their bytes. */
    public void bind(long metaAddress, long metaLongs, long dataAddress, long dataBytes) {
        this.metaAddress = metaAddress;
        this.metaLongs = metaLongs;
        this.dataAddress = dataAddress;
        this.dataBytes = dataBytes;
    }

    /**
     * Calls a prepared signature. The header at `headerAddress`: its length in longs, then per input
     * (in prepare order) type code, rank, dims..., address, byte count.
     *
     * <p>Writes to the meta area: data bytes the outputs need, meta longs needed, then per output
     * type code, rank, dims..., offset in the data area, byte count. Returns twice the native
     * pointers the call left alive, plus one when that description differs from the previous call's
     * on this handle (Python then reads it again; otherwise it need not look); or PENDING when the
     * areas are too small (only the two sizes are written).
     */
    public long call(int handle, long headerAddress) {
        if (!pending.isEmpty()) {
            throw new IllegalStateException("fetch() the outputs of the previous call first");
        }
        countBefore = Pointer.totalCount();
        long length = Memory.longs(headerAddress, 1, true).getLong(0);
        long[] header = new long[(int) length];
        Memory.longs(headerAddress, length, true).read(header);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        boolean changed;
        try {
            int at = 1;
            for (String name : inputs.get(handle)) {
                int rank = (int) header[at + 1];
                feeds.put(name, tensor((int) header[at], Arrays.copyOfRange(header, at + 2, at + 2 + rank),
                        header[at + 2 + rank], header[at + 3 + rank]));
                at += 4 + rank;
            }
            try (Result result = prepared.get(handle).call(feeds)) {
                String[] names = outputs.get(handle);
                Tensor[] tensors = new Tensor[names.length];
                long[] meta = describe(result, names, tensors);
                changed = !Arrays.equals(meta, described.get(handle));
                described.set(handle, meta);
                if (meta.length > metaLongs || meta[0] > dataBytes) {
                    Memory.longs(metaAddress, 2, false).write(meta, 0, 2);
                    for (Tensor tensor : tensors) { // kept open (the Result's close leaves them) until fetch()
                        pending.add(copyOf(tensor));
                    }
                    pendingMeta = meta;
                    return PENDING;
                }
                deliver(meta, tensors);
            }
        } finally {
            if (!leakInputs) {
                for (Tensor tensor : feeds.values()) {
                    tensor.close();
                }
            }
        }
        return result(changed); // counted once the inputs are closed
    }

    private long result(boolean changed) {
        return 2 * Math.max(0, Pointer.totalCount() - countBefore) + (changed ? 1 : 0);
    }

    /**
     * After call() returned PENDING and bind() gave larger areas: delivers the outputs, closes them.
     * Returns as call() does, the description marked new (it is, in the new areas).
     */
    public long fetch() {
        try {
            deliver(pendingMeta, pending.toArray(new Tensor[0]));
        } finally {
            pending.forEach(Tensor::close);
            pending.clear();
            pendingMeta = null;
        }
        return result(true);
    }

    private static long[] describe(Result result, String[] names, Tensor[] tensors) {
        long[] meta = new long[2 + 6 * names.length];
        int m = 2;
        long offset = 0;
        for (int i = 0; i < names.length; i++) {
            Tensor tensor = result.get(names[i]).orElseThrow();
            tensors[i] = tensor;
            long[] dims = tensor.shape().asArray();
            if (meta.length < m + 4 + dims.length) {
                meta = Arrays.copyOf(meta, 2 * meta.length + dims.length);
            }
            int code = code(tensor);
            long bytes = code == SKIPPED ? 0 : tensor.numBytes();
            meta[m] = code;
            meta[m + 1] = dims.length;
            System.arraycopy(dims, 0, meta, m + 2, dims.length);
            meta[m + 2 + dims.length] = offset;
            meta[m + 3 + dims.length] = bytes;
            m += 4 + dims.length;
            offset += (bytes + 63) & ~63L;
        }
        meta = Arrays.copyOf(meta, m);
        meta[0] = offset;
        meta[1] = m;
        return meta;
    }

    private void deliver(long[] meta, Tensor[] tensors) {
        Memory.longs(metaAddress, meta.length, false).write(meta);
        int m = 2;
        for (Tensor tensor : tensors) {
            int rank = (int) meta[m + 1];
            long offset = meta[m + 2 + rank];
            long bytes = meta[m + 3 + rank];
            if (meta[m] != SKIPPED && bytes > 0) {
                copy(tensor.asRawTensor().data(), Memory.bytes(dataAddress + offset, bytes, false), bytes);
            }
            m += 4 + rank;
        }
    }

    /** A tensor that outlives the Result it came from (the Result closes its own). */
    private static Tensor copyOf(Tensor tensor) {
        int code = code(tensor);
        if (code == SKIPPED) {
            return Tensor.of(TBool.class, Shape.scalar()); // a placeholder: nothing of it is read
        }
        return Tensor.of(TYPES[code], tensor.shape(), tensor.asRawTensor().data());
    }

    /** A new tensor with a copy of `bytes` bytes at `address` (the caller closes it). */
    static Tensor tensor(int code, long[] dims, long address, long bytes) {
        if (code == STRING) {
            byte[] text = new byte[Math.toIntExact(bytes)];
            if (bytes > 0) {
                Memory.bytes(address, bytes, true).read(text);
            }
            return TString.scalarOf(new String(text, StandardCharsets.UTF_8));
        }
        if (code < 0 || code >= TYPES.length) {
            throw new IllegalArgumentException("no TF Java type for type code " + code);
        }
        Shape shape = dims.length == 0 ? Shape.scalar() : Shape.of(dims);
        Tensor tensor = Tensor.of(TYPES[code], shape);
        try {
            copy(Memory.bytes(address, bytes, true), tensor.asRawTensor().data(), bytes);
        } catch (RuntimeException e) {
            tensor.close();
            throw e;
        }
        return tensor;
    }

    /** Copies `bytes` bytes; a large copy in one chunk per CPU, in parallel. */
    static void copy(ByteDataBuffer from, ByteDataBuffer to, long bytes) {
        if (bytes < PARALLEL_COPY || COPIERS < 2) {
            if (bytes > 0) {
                from.copyTo(to, bytes);
            }
            return;
        }
        long step = (bytes / COPIERS + 63) & ~63L;
        List<Future<?>> chunks = new ArrayList<>();
        for (long at = step; at < bytes; at += step) {
            long size = Math.min(step, bytes - at);
            ByteDataBuffer source = from.slice(at, size);
            ByteDataBuffer target = to.slice(at, size);
            chunks.add(copiers().submit(() -> source.copyTo(target, size)));
        }
        from.slice(0, step).copyTo(to.slice(0, step), step); // this thread copies the first chunk
        try {
            for (Future<?> chunk : chunks) {
                chunk.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while copying", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a parallel copy failed", e.getCause());
        }
    }

    private static synchronized ExecutorService copiers() {
        if (copiers == null) {
            copiers = Executors.newFixedThreadPool(COPIERS - 1, runnable -> {
                Thread thread = new Thread(runnable, "calls-copy");
                thread.setDaemon(true); // never keeps the worker's JVM alive
                return thread;
            });
        }
        return copiers;
    }

    static int code(Tensor tensor) {
        Class<?> type = tensor.getClass();
        for (int i = 0; i < TYPES.length; i++) {
            if (TYPES[i].isAssignableFrom(type)) {
                return i;
            }
        }
        return SKIPPED;
    }

    /**
     * numpy -> a TF Java tensor -> numpy: `bytes` bytes at `address` become a new tensor, whose
     * bytes are copied to `out`. The transfer tests and benchmark. Returns the pointers left alive.
     */
    public static long echo(int code, long[] dims, long address, long bytes, long out) {
        long before = Pointer.totalCount();
        try (Tensor tensor = tensor(code, dims, address, bytes)) {
            copy(tensor.asRawTensor().data(), Memory.bytes(out, bytes, false), bytes);
        }
        return Math.max(0, Pointer.totalCount() - before);
    }
}
