using System.Runtime.InteropServices;
using System.Text;
using PhasedDmd.Build;
using Xunit;

namespace PhasedDmd.Tests.Build;

/// <summary>
/// Tests of the pure ELF logic behind the libstdc++ weak-version build step
/// (build/LibStdCxxWeakVersionPatcher.cs, compiled into this assembly with PHASEDDMD_NO_MSBUILD).
/// The real libLibTorchSharp.so is only ever read from the NuGet cache and copied into a temp folder.
/// </summary>
public sealed class ElfVersionPatcherTests : IDisposable
{
    private const string Version = ElfVersionPatcher.DefaultVersionName; // GLIBCXX_3.4.32
    private const string Marker = "_ZSt21ios_base_library_initv";

    private readonly string _tempDir = Path.Combine(Path.GetTempPath(), "phaseddmd-elf-" + Guid.NewGuid().ToString("N"));

    public ElfVersionPatcherTests() => Directory.CreateDirectory(_tempDir);

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    // ---------------------------------------------------------------- real TorchSharp library

    private static string CachedLibTorchSharp()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp 0.107.0's libLibTorchSharp.so was not found at {path}; run `dotnet restore` first.");
        return path;
    }

    /// <summary>A private copy of the cached library (the cache itself is never written).</summary>
    private string CopyOfRealLibrary()
    {
        string copy = Path.Combine(_tempDir, "libLibTorchSharp.so");
        File.Copy(CachedLibTorchSharp(), copy, overwrite: true);
        return copy;
    }

    [Fact]
    public void Patching_the_real_library_changes_exactly_the_vna_flags_field()
    {
        byte[] original = File.ReadAllBytes(CopyOfRealLibrary());
        Assert.Equal(0, TestElf.FindVernaux(original, Version).Flags & ElfVersionPatcher.VerFlagWeak);

        ElfPatchResult result = ElfVersionPatcher.Patch(original);

        Assert.Equal(ElfPatchStatus.Patched, result.Status);
        Assert.NotNull(result.Bytes);
        byte[] patched = result.Bytes!;
        Assert.Equal(original.Length, patched.Length);

        var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.NotEmpty(differing);
        long flagsOffset = TestElf.FindVernaux(original, Version).FlagsOffset;
        Assert.Equal(flagsOffset, result.FlagsOffset);
        Assert.All(differing, i => Assert.InRange(i, flagsOffset, flagsOffset + 1)); // only the 2-byte vna_flags field

        int newFlags = patched[flagsOffset] | (patched[flagsOffset + 1] << 8);
        Assert.Equal(ElfVersionPatcher.VerFlagWeak, newFlags & ElfVersionPatcher.VerFlagWeak);
        Assert.Equal(newFlags, TestElf.FindVernaux(patched, Version).Flags);
        Assert.Equal(original, File.ReadAllBytes(CachedLibTorchSharp())); // input array untouched, cache untouched
    }

    [Fact]
    public void Patching_a_file_twice_is_idempotent_and_keeps_timestamp_and_mode()
    {
        string file = CopyOfRealLibrary();
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(file, stamp);
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, mode);
        byte[] before = File.ReadAllBytes(file);

        ElfPatchResult first = ElfVersionPatcher.PatchFile(file);
        Assert.Equal(ElfPatchStatus.Patched, first.Status);
        byte[] afterFirst = File.ReadAllBytes(file);
        Assert.Equal(first.Bytes, afterFirst);
        Assert.NotEqual(before, afterFirst);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));
        if (!OperatingSystem.IsWindows()) Assert.Equal(mode, File.GetUnixFileMode(file));

        ElfPatchResult second = ElfVersionPatcher.PatchFile(file);
        Assert.Equal(ElfPatchStatus.AlreadyPatched, second.Status);
        Assert.Null(second.Bytes);
        Assert.Equal(afterFirst, File.ReadAllBytes(file));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));

        Assert.Equal(ElfPatchStatus.AlreadyPatched, ElfVersionPatcher.Patch(afterFirst).Status);
        Assert.Equal(new[] { "libLibTorchSharp.so" }, Directory.GetFiles(_tempDir).Select(Path.GetFileName)); // no temp files left
    }

    [Fact]
    public void Refuses_when_a_defined_symbol_of_the_real_library_is_bound_to_the_version()
    {
        byte[] bytes = File.ReadAllBytes(CopyOfRealLibrary());
        var vernaux = TestElf.FindVernaux(bytes, Version);
        var defined = TestElf.DynamicSymbols(bytes).First(s => s.Shndx != 0 && s.Name.Length > 0);
        TestElf.WriteU16(bytes, defined.VersymOffset, (ushort)vernaux.Other);
        byte[] snapshot = (byte[])bytes.Clone();

        // Not in the allow-list...
        ElfPatchResult result = ElfVersionPatcher.Patch(bytes);
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains(defined.Name, result.Reason);
        Assert.Null(result.Bytes);
        Assert.Equal(snapshot, bytes);

        // ...and even when allow-listed, a defined symbol is refused.
        result = ElfVersionPatcher.Patch(bytes, Version, new[] { Marker, defined.Name });
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("defined", result.Reason);

        // The file is left alone too.
        string file = Path.Combine(_tempDir, "modified.so");
        File.WriteAllBytes(file, bytes);
        Assert.Equal(ElfPatchStatus.Refused, ElfVersionPatcher.PatchFile(file).Status);
        Assert.Equal(snapshot, File.ReadAllBytes(file));
    }

    [Fact]
    public void Refuses_the_real_library_with_an_empty_allow_list()
    {
        byte[] bytes = File.ReadAllBytes(CopyOfRealLibrary());
        byte[] snapshot = (byte[])bytes.Clone();

        ElfPatchResult result = ElfVersionPatcher.Patch(bytes, Version, Array.Empty<string>());

        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains(Marker, result.Reason);
        Assert.Null(result.Bytes);
        Assert.Equal(snapshot, bytes);
    }

    [Fact]
    public void Unknown_version_name_is_not_needed()
    {
        byte[] bytes = File.ReadAllBytes(CopyOfRealLibrary());
        ElfPatchResult result = ElfVersionPatcher.Patch(bytes, "GLIBCXX_9.9.99");
        Assert.Equal(ElfPatchStatus.NotNeeded, result.Status);
        Assert.Null(result.Bytes);
    }

    [Fact]
    public void Non_elf_files_are_reported_as_such()
    {
        Assert.Equal(ElfPatchStatus.NotElf, ElfVersionPatcher.Patch(Encoding.ASCII.GetBytes("#!/bin/sh\necho not an ELF file\n")).Status);
        Assert.Equal(ElfPatchStatus.NotElf, ElfVersionPatcher.Patch(Array.Empty<byte>()).Status);

        byte[] elf32 = new byte[64];
        elf32[0] = 0x7f; elf32[1] = (byte)'E'; elf32[2] = (byte)'L'; elf32[3] = (byte)'F'; elf32[4] = 1; elf32[5] = 1;
        Assert.Equal(ElfPatchStatus.NotElf, ElfVersionPatcher.Patch(elf32).Status);

        string file = Path.Combine(_tempDir, "libLibTorchSharp.so");
        File.WriteAllText(file, "not an ELF file");
        Assert.Equal(ElfPatchStatus.NotElf, ElfVersionPatcher.PatchFile(file).Status);
        Assert.Equal("not an ELF file", File.ReadAllText(file));
    }

    [Fact]
    public void Truncated_real_library_is_refused_without_exceptions()
    {
        byte[] bytes = File.ReadAllBytes(CopyOfRealLibrary());
        byte[] truncated = bytes.AsSpan(0, bytes.Length / 2).ToArray(); // section headers live at the end
        ElfPatchResult result = ElfVersionPatcher.Patch(truncated);
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("malformed", result.Reason);
    }

    // ---------------------------------------------------------------- synthetic minimal ELF

    [Fact]
    public void Synthetic_library_is_patched_at_the_second_vernaux()
    {
        byte[] elf = SyntheticElf.Build();
        ElfPatchResult result = ElfVersionPatcher.Patch(elf);
        Assert.Equal(ElfPatchStatus.Patched, result.Status);
        Assert.Equal(SyntheticElf.TargetFlagsOffset, result.FlagsOffset);
        Assert.Equal(0, result.OldFlags);
        Assert.Equal(2, result.NewFlags);
        var diff = Enumerable.Range(0, elf.Length).Where(i => elf[i] != result.Bytes![i]).ToList();
        Assert.Equal(new[] { (int)SyntheticElf.TargetFlagsOffset }, diff);
        Assert.Equal(ElfPatchStatus.AlreadyPatched, ElfVersionPatcher.Patch(result.Bytes!).Status);
        Assert.Equal(ElfPatchStatus.NotNeeded, ElfVersionPatcher.Patch(elf, "GLIBCXX_3.4.99").Status);
    }

    [Fact]
    public void Synthetic_existing_flags_are_kept()
    {
        byte[] elf = SyntheticElf.Build();
        TestElf.WriteU16(elf, SyntheticElf.TargetFlagsOffset, 1); // VER_FLG_BASE
        ElfPatchResult result = ElfVersionPatcher.Patch(elf);
        Assert.Equal(ElfPatchStatus.Patched, result.Status);
        Assert.Equal(3, result.NewFlags);
    }

    [Fact]
    public void Synthetic_symbol_referenced_by_a_relocation_is_refused()
    {
        // "foo" is undefined, allow-listed and bound to the version, but a relocation refers to it.
        byte[] elf = SyntheticElf.Build(fooVersion: SyntheticElf.TargetVersionIndex, relocatedSymbol: 2);
        ElfPatchResult result = ElfVersionPatcher.Patch(elf, Version, new[] { Marker, "foo" });
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("relocation", result.Reason);

        // The same symbol without the relocation is fine.
        elf = SyntheticElf.Build(fooVersion: SyntheticElf.TargetVersionIndex, relocatedSymbol: 0);
        Assert.Equal(ElfPatchStatus.Patched, ElfVersionPatcher.Patch(elf, Version, new[] { Marker, "foo" }).Status);
    }

    [Fact]
    public void Synthetic_relocation_of_the_marker_symbol_is_refused()
    {
        byte[] elf = SyntheticElf.Build(relocatedSymbol: 1);
        ElfPatchResult result = ElfVersionPatcher.Patch(elf);
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("relocation", result.Reason);
    }

    [Fact]
    public void Synthetic_hidden_versym_bit_still_counts_as_bound()
    {
        byte[] elf = SyntheticElf.Build(fooVersion: (ushort)(0x8000 | SyntheticElf.TargetVersionIndex));
        ElfPatchResult result = ElfVersionPatcher.Patch(elf);
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("'foo'", result.Reason);
    }

    [Fact]
    public void Synthetic_defined_symbol_is_refused_even_if_allow_listed()
    {
        byte[] elf = SyntheticElf.Build(fooVersion: SyntheticElf.TargetVersionIndex, fooShndx: 5);
        ElfPatchResult result = ElfVersionPatcher.Patch(elf, Version, new[] { Marker, "foo" });
        Assert.Equal(ElfPatchStatus.Refused, result.Status);
        Assert.Contains("defined", result.Reason);
    }

    // ---------------------------------------------------------------- system libstdc++ probe

    [Fact]
    public void Version_string_search_requires_an_exact_nul_delimited_match()
    {
        byte[] data = Encoding.ASCII.GetBytes("xx\0GLIBCXX_3.4.30\0GLIBCXX_3.4.32\0CXXABI_1.3\0");
        Assert.True(ElfVersionPatcher.ContainsVersionString(data, "GLIBCXX_3.4.32"));
        Assert.True(ElfVersionPatcher.ContainsVersionString(data, "GLIBCXX_3.4.30"));
        Assert.False(ElfVersionPatcher.ContainsVersionString(data, "GLIBCXX_3.4.3"));
        Assert.False(ElfVersionPatcher.ContainsVersionString(data, "LIBCXX_3.4.32"));
        Assert.False(ElfVersionPatcher.ContainsVersionString(data, "GLIBCXX_3.4.33"));
        Assert.False(ElfVersionPatcher.ContainsVersionString(Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.32"), "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void System_libstdcxx_probe_finds_the_library_on_linux()
    {
        bool hasBase = ElfVersionPatcher.SystemLibStdCxxProvides("GLIBCXX_3.4", out string? path);
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            Assert.NotNull(path);
            Assert.True(hasBase, $"{path} should define GLIBCXX_3.4");
            Assert.False(ElfVersionPatcher.SystemLibStdCxxProvides("GLIBCXX_99.0", out _));
        }
        else
        {
            Assert.False(hasBase);
        }
    }

    // ---------------------------------------------------------------- independent ELF reading helpers

    private static class TestElf
    {
        public sealed record Vernaux(long Offset, int Flags, int Other)
        {
            public long FlagsOffset => Offset + 4;
        }

        public sealed record Symbol(int Index, string Name, int Shndx, long VersymOffset);

        private sealed record Sh(uint Type, long Offset, long Size, uint Link);

        private static List<Sh> Sections(byte[] d)
        {
            long shoff = (long)BitConverter.ToUInt64(d, 0x28);
            int shnum = BitConverter.ToUInt16(d, 0x3C);
            var list = new List<Sh>();
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + i * 64L;
                list.Add(new Sh(BitConverter.ToUInt32(d, (int)h + 4), (long)BitConverter.ToUInt64(d, (int)h + 0x18),
                    (long)BitConverter.ToUInt64(d, (int)h + 0x20), BitConverter.ToUInt32(d, (int)h + 0x28)));
            }
            return list;
        }

        private static string Str(byte[] d, long start)
        {
            long end = start;
            while (d[end] != 0) end++;
            return Encoding.ASCII.GetString(d, (int)start, (int)(end - start));
        }

        public static Vernaux FindVernaux(byte[] d, string name)
        {
            var sections = Sections(d);
            var verneed = sections.Single(s => s.Type == ElfVersionPatcher.ShtGnuVerneed);
            long strtab = sections[(int)verneed.Link].Offset;
            long vn = verneed.Offset;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(d, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(d, (int)vn + 8);
                for (int j = 0; j < cnt; j++)
                {
                    if (Str(d, strtab + BitConverter.ToUInt32(d, (int)aux + 8)) == name)
                        return new Vernaux(aux, BitConverter.ToUInt16(d, (int)aux + 4), BitConverter.ToUInt16(d, (int)aux + 6));
                    aux += BitConverter.ToUInt32(d, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(d, (int)vn + 12);
                if (next == 0) throw new InvalidOperationException($"no vernaux {name}");
                vn += next;
            }
        }

        public static IEnumerable<Symbol> DynamicSymbols(byte[] d)
        {
            var sections = Sections(d);
            var dynsym = sections.Single(s => s.Type == ElfVersionPatcher.ShtDynsym);
            var versym = sections.Single(s => s.Type == ElfVersionPatcher.ShtGnuVersym);
            long strtab = sections[(int)dynsym.Link].Offset;
            for (int i = 0; i < dynsym.Size / 24; i++)
            {
                long sym = dynsym.Offset + i * 24L;
                yield return new Symbol(i, Str(d, strtab + BitConverter.ToUInt32(d, (int)sym)),
                    BitConverter.ToUInt16(d, (int)sym + 6), versym.Offset + i * 2L);
            }
        }

        public static void WriteU16(byte[] d, long offset, ushort value)
        {
            d[offset] = (byte)value;
            d[offset + 1] = (byte)(value >> 8);
        }
    }

    /// <summary>
    /// A minimal, well-formed ELF64 LE shared-object skeleton (no program headers) with
    /// .dynsym {null, _ZSt21ios_base_library_initv (UND), foo}, .gnu.version, a .gnu.version_r
    /// needing GLIBCXX_3.4.30 (index 2) and GLIBCXX_3.4.32 (index 3) from libstdc++.so.6, and a
    /// .rela.dyn with one entry.
    /// </summary>
    private static class SyntheticElf
    {
        public const ushort TargetVersionIndex = 3;
        public const ushort OtherVersionIndex = 2;

        // Layout (file offsets).
        private const int DynsymOff = 64, DynsymSize = 3 * 24;            // 64..136
        private const int DynstrOff = 136;                                // 136..
        private const int VersymOff = 256, VersymSize = 3 * 2;            // 256..262
        private const int VerneedOff = 264, VerneedSize = 16 + 2 * 16;    // 264..312
        private const int RelaOff = 312, RelaSize = 24;                   // 312..336
        private const int ShstrOff = 336;                                 // 336..
        private const int ShOff = 448, ShNum = 7;

        /// <summary>vna_flags of the second Vernaux (GLIBCXX_3.4.32).</summary>
        public const long TargetFlagsOffset = VerneedOff + 16 + 16 + 4;

        public static byte[] Build(ushort fooVersion = OtherVersionIndex, ushort fooShndx = 0, uint relocatedSymbol = 2)
        {
            var d = new byte[ShOff + ShNum * 64];

            // .dynstr
            var dynstr = new MemoryStream();
            int Add(MemoryStream ms, string s)
            {
                int at = (int)ms.Length;
                byte[] b = Encoding.ASCII.GetBytes(s + "\0");
                ms.Write(b, 0, b.Length);
                return at;
            }
            Add(dynstr, "");
            int sLib = Add(dynstr, "libstdc++.so.6");
            int s30 = Add(dynstr, "GLIBCXX_3.4.30");
            int s32 = Add(dynstr, "GLIBCXX_3.4.32");
            int sMarker = Add(dynstr, Marker);
            int sFoo = Add(dynstr, "foo");
            byte[] dynstrBytes = dynstr.ToArray();
            Assert.True(DynstrOff + dynstrBytes.Length <= VersymOff);
            dynstrBytes.CopyTo(d, DynstrOff);

            // .dynsym: [0] null, [1] marker (UND, FUNC GLOBAL), [2] foo
            W32(d, DynsymOff + 24, (uint)sMarker); d[DynsymOff + 24 + 4] = 0x12;
            W32(d, DynsymOff + 48, (uint)sFoo); d[DynsymOff + 48 + 4] = 0x12; W16(d, DynsymOff + 48 + 6, fooShndx);

            // .gnu.version
            W16(d, VersymOff + 2, TargetVersionIndex);
            W16(d, VersymOff + 4, fooVersion);

            // .gnu.version_r: one Verneed with two Vernaux entries
            W16(d, VerneedOff, 1); W16(d, VerneedOff + 2, 2); W32(d, VerneedOff + 4, (uint)sLib); W32(d, VerneedOff + 8, 16); W32(d, VerneedOff + 12, 0);
            int a1 = VerneedOff + 16;
            W32(d, a1, 0x08922974); W16(d, a1 + 4, 0); W16(d, a1 + 6, OtherVersionIndex); W32(d, a1 + 8, (uint)s30); W32(d, a1 + 12, 16);
            int a2 = a1 + 16;
            W32(d, a2, 0x08922972); W16(d, a2 + 4, 0); W16(d, a2 + 6, TargetVersionIndex); W32(d, a2 + 8, (uint)s32); W32(d, a2 + 12, 0);

            // .rela.dyn: r_offset, r_info = (sym << 32) | R_X86_64_GLOB_DAT (6), r_addend
            W64(d, RelaOff + 8, ((ulong)relocatedSymbol << 32) | 6);

            // .shstrtab
            var shstr = new MemoryStream();
            Add(shstr, "");
            int nDynsym = Add(shstr, ".dynsym"), nDynstr = Add(shstr, ".dynstr"), nVersym = Add(shstr, ".gnu.version"),
                nVerneed = Add(shstr, ".gnu.version_r"), nRela = Add(shstr, ".rela.dyn"), nShstr = Add(shstr, ".shstrtab");
            byte[] shstrBytes = shstr.ToArray();
            Assert.True(ShstrOff + shstrBytes.Length <= ShOff);
            shstrBytes.CopyTo(d, ShstrOff);

            // ELF header
            d[0] = 0x7f; d[1] = (byte)'E'; d[2] = (byte)'L'; d[3] = (byte)'F'; d[4] = 2; d[5] = 1; d[6] = 1;
            W16(d, 0x10, 3); W16(d, 0x12, 62); W32(d, 0x14, 1);
            W64(d, 0x28, ShOff); W16(d, 0x34, 64); W16(d, 0x3A, 64); W16(d, 0x3C, ShNum); W16(d, 0x3E, 6);

            // Section headers: name, type, offset, size, link, info, align, entsize
            Sh(d, 1, nDynsym, ElfVersionPatcher.ShtDynsym, DynsymOff, DynsymSize, 2, 1, 8, 24);
            Sh(d, 2, nDynstr, 3, DynstrOff, dynstrBytes.Length, 0, 0, 1, 0);
            Sh(d, 3, nVersym, ElfVersionPatcher.ShtGnuVersym, VersymOff, VersymSize, 1, 0, 2, 2);
            Sh(d, 4, nVerneed, ElfVersionPatcher.ShtGnuVerneed, VerneedOff, VerneedSize, 2, 1, 8, 0);
            Sh(d, 5, nRela, ElfVersionPatcher.ShtRela, RelaOff, RelaSize, 1, 0, 8, 24);
            Sh(d, 6, nShstr, 3, ShstrOff, shstrBytes.Length, 0, 0, 1, 0);
            return d;
        }

        private static void Sh(byte[] d, int index, int name, uint type, long offset, long size, uint link, uint info, long align, long entsize)
        {
            int h = ShOff + index * 64;
            W32(d, h, (uint)name); W32(d, h + 4, type); W64(d, h + 0x18, (ulong)offset); W64(d, h + 0x20, (ulong)size);
            W32(d, h + 0x28, link); W32(d, h + 0x2C, info); W64(d, h + 0x30, (ulong)align); W64(d, h + 0x38, (ulong)entsize);
        }

        private static void W16(byte[] d, int o, ushort v) => BitConverter.GetBytes(v).CopyTo(d, o);
        private static void W32(byte[] d, int o, uint v) => BitConverter.GetBytes(v).CopyTo(d, o);
        private static void W64(byte[] d, int o, ulong v) => BitConverter.GetBytes(v).CopyTo(d, o);
    }
}
