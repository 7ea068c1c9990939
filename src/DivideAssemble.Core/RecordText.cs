using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace DivideAssemble;

/// <summary>
/// How the library's public records print: every public property by name, numbers invariantly, and
/// collections as their first items and their length (a map of 16 384 floats prints as <c>float[16384]</c>),
/// so <c>ToString()</c> never shows a collection's type name.
/// </summary>
internal static class RecordText
{
    private const int ShownItems = 4;

    /// <summary>Writes <paramref name="record"/>'s public properties to <paramref name="builder"/>, as a record's <c>PrintMembers</c> does.</summary>
    public static bool Print(object record, StringBuilder builder)
    {
        var properties = record.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        for (int i = 0; i < properties.Count; i++)
        {
            builder.Append(i == 0 ? string.Empty : ", ").Append(properties[i].Name).Append(" = ").Append(Format(properties[i].GetValue(record)));
        }

        return properties.Count > 0;
    }

    /// <summary>One value as <see cref="Print"/> writes it.</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        string text => text,
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        Array { Rank: 1 } array when array.GetType().GetElementType()!.IsPrimitive => $"{ElementName(array.GetType().GetElementType()!)}[{array.Length}]",
        IDictionary dictionary => "{ " + Items(dictionary.Keys.Cast<object>().Select(k => $"{Format(k)}: {Format(dictionary[k])}").ToList(), dictionary.Count) + " }",
        IEnumerable sequence => "[" + Items(sequence.Cast<object?>().Take(ShownItems + 1).Select(Format).ToList(), Count(sequence)) + "]",
        _ => value.ToString() ?? string.Empty,
    };

    private static string Items(List<string> shown, int count) =>
        count <= ShownItems ? string.Join(", ", shown) : string.Join(", ", shown.Take(ShownItems - 1)) + $", … ({count} items)";

    private static int Count(IEnumerable sequence) => sequence is ICollection collection ? collection.Count : sequence.Cast<object?>().Count();

    private static string ElementName(Type type) => type == typeof(float) ? "float" : type == typeof(double) ? "double" : type == typeof(bool) ? "bool" : type == typeof(byte) ? "byte" : type == typeof(int) ? "int" : type.Name;
}
