package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.QuantizedMatrix;
import dev.tandem.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a PEQA model is stored in {@code model.safetensors} (docs/FINETUNE.md): each quantized
 * linear weight {@code <name>.weight} [in, out] becomes three tensors,
 *
 * <pre>
 *   &lt;name&gt;.qweight  U8  [in, ⌈out·bits/8⌉]  codes q[i, o], each row a little-endian bit stream
 *   &lt;name&gt;.scales   F32 [out]               the trained per-channel scales
 *   &lt;name&gt;.zeros    U8  [out]               the zero points z[o]
 * </pre>
 *
 * so that {@code W[i, o] = scales[o]·(q[i, o] − zeros[o])}; every other tensor is float32 as usual,
 * and config.json says {@code "quantization_config": {"quant_method": "peqa", "bits": b, ...}}.
 */
final class PeqaLayout {
    static final String CONFIG_KEY = "quantization_config";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeqaLayout() {}

    /** {@code h.0.mlp.c_fc.weight} → {@code h.0.mlp.c_fc}. */
    private static String base(String weightName) {
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    static Map<String, Tensor> tensors(Parameter p) {
        String b = base(p.name());
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(b + ".qweight", p.quantized().codes());
        out.put(b + ".scales", p.value());
        out.put(b + ".zeros", p.quantized().zeros());
        return out;
    }

    static ObjectNode config(int bits) {
        ObjectNode n = JSON.createObjectNode();
        n.put("quant_method", "peqa");
        n.put("bits", bits);
        n.put("granularity", "per output channel, asymmetric");
        n.put("layout", "<linear>.qweight U8 [in, ceil(out*bits/8)] (row-wise little-endian bit streams), <linear>.scales F32 [out], "
                + "<linear>.zeros U8 [out]; W[i,o] = scales[o] * (q[i,o] - zeros[o])");
        return n;
    }

    /** The bits of a PEQA model directory's config.json, or 0 for a float model. */
    static int bits(JsonNode config, Path file) {
        JsonNode q = config.path(CONFIG_KEY);
        if (q.isMissingNode() || q.isNull()) return 0;
        if (!q.path("quant_method").asText().equals("peqa")) {
            throw new TandemException(file + ": " + CONFIG_KEY + ".quant_method " + q.path("quant_method") + " is not one Tandem reads (peqa)");
        }
        int bits = q.path("bits").asInt(0);
        if (bits < 2 || bits > 8) throw new TandemException(file + ": " + CONFIG_KEY + ".bits must be 2..8, got " + q.path("bits"));
        return bits;
    }

    /** Fills the quantized matrix {@code p} from the three tensors of its layer; each is removed from {@code entries}. */
    static void load(Parameter p, int bits, Map<String, SafeTensors.Entry> entries, Map<String, Path> fileOf) {
        String b = base(p.name());
        int[] shape = p.shape();
        int in = shape[0], out = shape[1];
        SafeTensors.Entry q = take(entries, fileOf, b + ".qweight", DType.U8, in, QuantizedMatrix.rowBytes(out, bits));
        SafeTensors.Entry s = take(entries, fileOf, b + ".scales", DType.F32, out);
        SafeTensors.Entry z = take(entries, fileOf, b + ".zeros", DType.U8, out);
        Tensor codes = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, in, QuantizedMatrix.rowBytes(out, bits));
        Tensor zeros = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, out);
        Tensor scales = Tensor.allocate(DType.F32, MemoryCategory.PARAMETERS, out);
        codes.data().copyFrom(q.bytes());
        zeros.data().copyFrom(z.bytes());
        scales.data().copyFrom(s.bytes());
        p.useQuantized(QuantizedMatrix.of(bits, in, out, codes, zeros), scales);
    }

    private static SafeTensors.Entry take(Map<String, SafeTensors.Entry> entries, Map<String, Path> fileOf, String name, DType dtype, int... shape) {
        SafeTensors.Entry e = entries.remove(name);
        if (e == null) throw new TandemException("missing tensor '" + name + "' of a PEQA model (" + fileOf.values().stream().findFirst().orElse(null) + ")");
        if (e.dtype() != dtype || !Arrays.equals(e.shape(), shape)) {
            throw new TandemException(fileOf.get(name) + ": tensor '" + name + "' is " + e.dtype() + Arrays.toString(e.shape()) + ", expected "
                    + dtype + Arrays.toString(shape));
        }
        return e;
    }
}
