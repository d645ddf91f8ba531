using System.Globalization;
using System.Text;

namespace FnOperator.KubeApiServer.Validation.Cel;

public enum CelTokenKind
{
    Ident,
    Int,
    Double,
    String,
    Op,
    End,
}

public sealed record CelToken(CelTokenKind Kind, string Text, object? Value, int Position);

/// <summary>Splits a CEL expression into tokens: identifiers, int/double/string literals and operators.</summary>
public static class CelLexer
{
    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "+", "-", "*", "/", "%"];

    public static List<CelToken> Tokenize(string text)
    {
        var tokens = new List<CelToken>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                if (i < text.Length && (text[i] == '"' || text[i] == '\'') && text[start..i] is "r" or "R")
                {
                    tokens.Add(ReadString(text, ref i, raw: true));
                }
                else
                {
                    tokens.Add(new CelToken(CelTokenKind.Ident, text[start..i], null, start));
                }
            }
            else if (char.IsDigit(c))
            {
                tokens.Add(ReadNumber(text, ref i));
            }
            else if (c is '"' or '\'')
            {
                tokens.Add(ReadString(text, ref i, raw: false));
            }
            else
            {
                var op = Operators.FirstOrDefault(o => string.CompareOrdinal(text, i, o, 0, o.Length) == 0)
                    ?? throw new CelException($"unexpected character '{c}' at {i}");
                tokens.Add(new CelToken(CelTokenKind.Op, op, null, i));
                i += op.Length;
            }
        }

        tokens.Add(new CelToken(CelTokenKind.End, "<end>", null, text.Length));
        return tokens;
    }

    private static CelToken ReadNumber(string text, ref int i)
    {
        var start = i;
        if (text[i] == '0' && i + 1 < text.Length && text[i + 1] is 'x' or 'X')
        {
            i += 2;
            while (i < text.Length && Uri.IsHexDigit(text[i]))
            {
                i++;
            }

            return new CelToken(CelTokenKind.Int, text[start..i], long.Parse(text[(start + 2)..i], NumberStyles.HexNumber, CultureInfo.InvariantCulture), start);
        }

        var isDouble = false;
        while (i < text.Length && (char.IsDigit(text[i]) || (text[i] == '.' && i + 1 < text.Length && char.IsDigit(text[i + 1])) || text[i] is 'e' or 'E'))
        {
            isDouble |= text[i] is '.' or 'e' or 'E';
            i++;
        }

        var literal = text[start..i];
        if (i < text.Length && text[i] is 'u' or 'U')
        {
            throw new CelException($"unsigned literal {literal}u is outside the supported CEL subset");
        }

        return isDouble
            ? new CelToken(CelTokenKind.Double, literal, double.Parse(literal, CultureInfo.InvariantCulture), start)
            : new CelToken(CelTokenKind.Int, literal, long.Parse(literal, CultureInfo.InvariantCulture), start);
    }

    private static CelToken ReadString(string text, ref int i, bool raw)
    {
        var start = i;
        var quote = text[i];
        var triple = i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote;
        i += triple ? 3 : 1;
        var value = new StringBuilder();
        while (true)
        {
            if (i >= text.Length)
            {
                throw new CelException($"unterminated string literal at {start}");
            }

            if (triple ? string.CompareOrdinal(text, i, new string(quote, 3), 0, 3) == 0 : text[i] == quote)
            {
                i += triple ? 3 : 1;
                return new CelToken(CelTokenKind.String, text[start..i], value.ToString(), start);
            }

            if (text[i] == '\\' && !raw && i + 1 < text.Length)
            {
                value.Append(text[i + 1] switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' => '\\',
                    '"' => '"',
                    '\'' => '\'',
                    var other => throw new CelException($"unsupported escape \\{other} at {i}"),
                });
                i += 2;
            }
            else
            {
                value.Append(text[i++]);
            }
        }
    }
}
