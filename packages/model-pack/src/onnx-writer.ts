// A small builder for ONNX graphs on top of `onnx-proto` (protobufjs). Names are generated from a counter,
// so the same sequence of calls always yields the same model bytes.
import { endianness } from "node:os";
import type { onnx as OnnxNamespace } from "onnx-proto";
// onnx-proto is CommonJS whose exports Node cannot name statically: import its module.exports as the default.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;
/** ONNX Runtime's contrib operators (GroupQueryAttention, …): version 1 of the com.microsoft domain. */
export const MS_DOMAIN = "com.microsoft";

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const BOOL = onnx.TensorProto.DataType.BOOL;
export const INT32 = onnx.TensorProto.DataType.INT32;

/** A fixed size, or a symbolic name that callers see in the session's input/output metadata. */
export type Dim = number | string;
type Attribute = Omit<OnnxNamespace.IAttributeProto, "name">;

export const int = (i: number): Attribute => ({ type: onnx.AttributeProto.AttributeType.INT, i });
export const ints = (values: number[]): Attribute => ({ type: onnx.AttributeProto.AttributeType.INTS, ints: values });
export const float = (f: number): Attribute => ({ type: onnx.AttributeProto.AttributeType.FLOAT, f });

export class GraphBuilder {
  private readonly nodes: OnnxNamespace.INodeProto[] = [];
  private readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private readonly inputs: OnnxNamespace.IValueInfoProto[] = [];
  private readonly outputs: OnnxNamespace.IValueInfoProto[] = [];
  private counter = 0;
  private usesMsDomain = false;
  /** Prefix of generated names, so a node's place in the model shows in error messages and profiles. */
  scope = "";

  constructor() {
    // Tensor bytes are copied straight from typed arrays, and ONNX stores them little-endian.
    if (endianness() !== "LE") throw new Error("Writing ONNX models needs a little-endian machine");
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initializer; its bytes are referenced, not copied, until the model is encoded. */
  floatTensor(name: string, dims: number[], data: Float32Array): string {
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData });
    return name;
  }

  /** A float16 initializer from IEEE half bits. */
  float16Tensor(name: string, dims: number[], halves: Uint16Array): string {
    const rawData = new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
    this.initializers.push({ name, dims, dataType: FLOAT16, rawData });
    return name;
  }

  floatScalar(value: number): string {
    return this.floatTensor(this.freshName("const"), [], Float32Array.of(value));
  }

  /** An int64 constant: a 1-D tensor, or a scalar when `scalar` is set (Range wants scalars). */
  int64(values: bigint[] | number[], scalar = false): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    const name = this.freshName("const");
    const rawData = new Uint8Array(data.buffer);
    this.initializers.push({ name, dims: scalar ? [] : [data.length], dataType: INT64, rawData });
    return name;
  }

  /** Adds a node with one output and returns that output's name (or `outputName` when given). */
  op(opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, outputName?: string): string {
    return this.opMulti(opType, inputs, 1, attrs, outputName ? [outputName] : undefined)[0];
  }

  opMulti(
    opType: string,
    inputs: string[],
    outputCount: number,
    attrs: Record<string, Attribute> = {},
    outputNames?: string[],
    domain?: typeof MS_DOMAIN,
  ): string[] {
    const name = this.freshName(opType);
    const output = outputNames ?? Array.from({ length: outputCount }, (_, i) => `${name}_out${i}`);
    const attribute = Object.entries(attrs).map(([attrName, value]) => ({ name: attrName, ...value }));
    // The domain field is set only on contrib nodes, so graphs without them keep their exact bytes.
    this.nodes.push({ name, opType, input: inputs, output, attribute, ...(domain ? { domain } : {}) });
    if (domain) this.usesMsDomain = true;
    return output;
  }

  /** The complete, serialized model. */
  encode(graphName: string, docString: string): Uint8Array {
    const model: OnnxNamespace.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: "", version: OPSET_VERSION },
        ...(this.usesMsDomain ? [{ domain: MS_DOMAIN, version: 1 }] : []),
      ],
      producerName: "@llm/model-pack",
      docString,
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }

  private freshName(kind: string): string {
    this.counter += 1;
    return `${this.scope}${kind}_${this.counter}`;
  }
}

function valueInfo(name: string, elemType: number, dims: Dim[]): OnnxNamespace.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}
