using System.Runtime.InteropServices;
using System.Text;

namespace DivideAssemble.Graph;

/// <summary>
/// A protocol-buffers message built in memory and written in the wire format (varints, fixed32 and
/// length-delimited fields, field numbers as the schema defines them). Just what ONNX's few messages
/// need, written from the field numbers of onnx.proto: no generated code and no dependency. Large
/// payloads (weights) are written from their arrays, never copied into intermediate buffers.
/// </summary>
internal sealed class ProtoMessage
{
    private readonly List<Field> fields = new();
    private long? size;

    /// <summary>Gets the encoded length of the message's fields.</summary>
    public long Size => size ??= fields.Sum(f => f.Size);

    public ProtoMessage Varint(int number, long value) => Add(new Field(number, WireVarint, value, null));

    public ProtoMessage Fixed32(int number, float value) => Add(new Field(number, WireFixed32, BitConverter.SingleToInt32Bits(value), null));

    public ProtoMessage String(int number, string value) => Add(new Field(number, WireLength, 0, Encoding.UTF8.GetBytes(value)));

    public ProtoMessage Bytes(int number, byte[] value) => Add(new Field(number, WireLength, 0, value));

    /// <summary>Adds the little-endian bytes of <paramref name="values"/> (written from the array itself).</summary>
    public ProtoMessage Floats(int number, float[] values) => Add(new Field(number, WireLength, 0, values));

    public ProtoMessage Message(int number, ProtoMessage value) => Add(new Field(number, WireLength, 0, value));

    /// <summary>Writes the message's fields (not a length prefix) to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        Span<byte> four = stackalloc byte[4];
        foreach (var f in fields)
        {
            WriteVarint(stream, ((ulong)f.Number << 3) | (uint)f.Wire);
            switch (f.Wire)
            {
                case WireVarint:
                    WriteVarint(stream, (ulong)f.Value);
                    break;
                case WireFixed32:
                    BitConverter.TryWriteBytes(four, (int)f.Value);
                    stream.Write(four);
                    break;
                default:
                    WriteVarint(stream, (ulong)f.PayloadSize);
                    switch (f.Payload)
                    {
                        case byte[] bytes:
                            stream.Write(bytes);
                            break;
                        case float[] floats:
                            stream.Write(MemoryMarshal.AsBytes(floats.AsSpan()));
                            break;
                        case ProtoMessage message:
                            message.WriteTo(stream);
                            break;
                    }

                    break;
            }
        }
    }

    /// <summary>Returns the message's encoding.</summary>
    public byte[] ToArray()
    {
        using var buffer = new MemoryStream((int)Math.Min(Size, int.MaxValue));
        WriteTo(buffer);
        return buffer.ToArray();
    }

    internal static int VarintSize(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        Span<byte> buffer = stackalloc byte[10];
        int n = 0;
        while (value >= 0x80)
        {
            buffer[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[n++] = (byte)value;
        stream.Write(buffer[..n]);
    }

    private ProtoMessage Add(Field field)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX stores tensors little-endian; exporting on a big-endian machine is not supported.");
        }

        fields.Add(field);
        size = null;
        return this;
    }

    private const int WireVarint = 0;
    private const int WireLength = 2;
    private const int WireFixed32 = 5;

    private sealed record Field(int Number, int Wire, long Value, object? Payload)
    {
        public long PayloadSize => Payload switch
        {
            byte[] b => b.LongLength,
            float[] f => f.LongLength * sizeof(float),
            ProtoMessage m => m.Size,
            _ => 0,
        };

        public long Size => VarintSize(((ulong)Number << 3) | (uint)Wire) + Wire switch
        {
            WireVarint => VarintSize((ulong)Value),
            WireFixed32 => 4,
            _ => VarintSize((ulong)PayloadSize) + PayloadSize,
        };
    }
}
