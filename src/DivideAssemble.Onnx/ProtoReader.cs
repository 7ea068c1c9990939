namespace DivideAssemble.Onnx;

/// <summary>
/// Reads the protocol-buffers wire format from a span, checking every length against the bytes that
/// remain, so a truncated or corrupt file fails here with the field's path — never inside ONNX Runtime.
/// </summary>
internal ref struct ProtoReader
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int Length = 2;
    public const int Fixed32 = 5;

    private readonly ReadOnlySpan<byte> data;
    private readonly string path;
    private int position;

    public ProtoReader(ReadOnlySpan<byte> data, string path)
    {
        this.data = data;
        this.path = path;
        position = 0;
    }

    public readonly bool AtEnd => position >= data.Length;

    /// <summary>Gets the offset of the next byte within this message.</summary>
    public readonly int Position => position;

    /// <summary>Reads the next field's number and wire type.</summary>
    /// <exception cref="ProtoFormatException">The tag is malformed or names an unsupported wire type.</exception>
    public (int Field, int Wire) ReadTag()
    {
        ulong tag = ReadVarint("a field tag");
        int wire = (int)(tag & 7);
        ulong field = tag >> 3;
        if (field is 0 or > 536_870_911)
        {
            throw Error($"holds the invalid field number {field}");
        }

        if (wire is not (Varint or Fixed64 or Length or Fixed32))
        {
            throw Error($"uses wire type {wire} (groups) in field {field}, which ONNX files do not use");
        }

        return ((int)field, wire);
    }

    public ulong ReadVarint(string what)
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length)
            {
                throw Error($"ends inside {what}");
            }

            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Error($"holds {what} longer than 10 bytes");
    }

    public ReadOnlySpan<byte> ReadBytes(string what)
    {
        ulong length = ReadVarint($"the length of {what}");
        if (length > (ulong)(data.Length - position))
        {
            throw Error($"declares {length:N0} bytes for {what} but only {data.Length - position:N0} remain");
        }

        var slice = data.Slice(position, (int)length);
        position += (int)length;
        return slice;
    }

    public string ReadString(string what)
    {
        var bytes = ReadBytes(what);
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw Error($"holds {what} that is not valid UTF-8");
        }
    }

    /// <summary>Reads a field expected to be of wire type <paramref name="expected"/>, failing on another.</summary>
    public readonly void Expect(int field, int wire, int expected, string what)
    {
        if (wire != expected)
        {
            throw Error($"has {what} (field {field}) with wire type {wire}, expected {expected}");
        }
    }

    public void Skip(int field, int wire)
    {
        switch (wire)
        {
            case Varint:
                ReadVarint($"field {field}");
                break;
            case Fixed64:
                Advance(8, field);
                break;
            case Fixed32:
                Advance(4, field);
                break;
            default:
                ReadBytes($"field {field}");
                break;
        }
    }

    public readonly ProtoFormatException Error(string message) => new($"{path} {message}");

    private void Advance(int count, int field)
    {
        if (data.Length - position < count)
        {
            throw Error($"ends inside field {field}");
        }

        position += count;
    }
}

/// <summary>A protobuf structure problem; the message starts with the path of the field at fault.</summary>
internal sealed class ProtoFormatException : Exception
{
    public ProtoFormatException(string message)
        : base(message)
    {
    }
}
