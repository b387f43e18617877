// Marks one GLIBCXX version need of libLibTorchSharp.so as weak so that the library loads
// on systems whose libstdc++ is older than the one TorchSharp was built with.
//
// Background: TorchSharp 0.107.0's libLibTorchSharp.so (built with GCC 13) declares a version
// need GLIBCXX_3.4.32 on libstdc++.so.6. Debian 12 / Ubuntu 22.04 ship libstdc++ only up to
// GLIBCXX_3.4.30, so the dynamic loader refuses the library. The only symbol bound to that
// version is the marker symbol `_ZSt21ios_base_library_initv` (emitted by GCC 13's <iostream>),
// which is undefined in the .so and referenced by no relocation, i.e. never resolved at run time.
// Setting VER_FLG_WEAK on that one Vernaux entry (.gnu.version_r) lets the loader accept a
// libstdc++ lacking the version. The patcher verifies all of this before changing anything.
//
// This single file serves two consumers:
//   * MSBuild's RoslynCodeTaskFactory (see Directory.Build.targets), which compiles it against
//     the netstandard 2.0 reference assemblies shipped with MSBuild. Keep to APIs available there
//     (no File.Move(..., overwrite), no OperatingSystem, no records/init accessors, no Span).
//   * The unit tests, which compile it with PHASEDDMD_NO_MSBUILD defined (no MSBuild references).
//
// Never patch the copy inside the NuGet package cache: only build/publish output copies.

#nullable enable
#pragma warning disable CS1591 // public members are documented where it matters; keep doc-enabled projects building

using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace PhasedDmd.Build
{
    /// <summary>Outcome of an attempt to weaken a version need.</summary>
    public enum ElfPatchStatus
    {
        /// <summary>The version need was marked weak; <see cref="ElfPatchResult.Bytes"/> holds the new image.</summary>
        Patched,

        /// <summary>The version need is already weak; nothing changed.</summary>
        AlreadyPatched,

        /// <summary>The file declares no need for that version; nothing changed.</summary>
        NotNeeded,

        /// <summary>The file is an ELF file but fails a safety check; nothing changed (see <see cref="ElfPatchResult.Reason"/>).</summary>
        Refused,

        /// <summary>The file is not a (supported: 64-bit little-endian) ELF file; nothing changed.</summary>
        NotElf,
    }

    /// <summary>Result of <see cref="ElfVersionPatcher.Patch(byte[], string, IEnumerable{string})"/>.</summary>
    public sealed class ElfPatchResult
    {
        public ElfPatchResult(ElfPatchStatus status, string reason, byte[]? bytes = null, long flagsOffset = -1, int oldFlags = -1, int newFlags = -1)
        {
            Status = status;
            Reason = reason;
            Bytes = bytes;
            FlagsOffset = flagsOffset;
            OldFlags = oldFlags;
            NewFlags = newFlags;
        }

        public ElfPatchStatus Status { get; }

        /// <summary>Human-readable explanation (always set; the refusal reason for <see cref="ElfPatchStatus.Refused"/>).</summary>
        public string Reason { get; }

        /// <summary>The patched image (a copy; the input is never modified). Only set for <see cref="ElfPatchStatus.Patched"/>.</summary>
        public byte[]? Bytes { get; }

        /// <summary>File offset of the 2-byte vna_flags field of the matching Vernaux entry, or -1.</summary>
        public long FlagsOffset { get; }

        public int OldFlags { get; }

        public int NewFlags { get; }

        public override string ToString() => Status + ": " + Reason;
    }

    /// <summary>Pure ELF logic: weakens a single version need (Vernaux entry) after verifying it is safe.</summary>
    public static class ElfVersionPatcher
    {
        public const string DefaultVersionName = "GLIBCXX_3.4.32";

        /// <summary>Symbols that may be bound to the weakened version (all must be undefined and unrelocated).</summary>
        public static readonly string[] DefaultAllowedSymbols = { "_ZSt21ios_base_library_initv" };

        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 2;

        public const uint ShtRela = 4;
        public const uint ShtDynsym = 11;
        public const uint ShtRel = 9;
        public const uint ShtGnuVerneed = 0x6ffffffe;
        public const uint ShtGnuVersym = 0x6fffffff;

        private const int ElfHeaderSize = 64;
        private const int SectionHeaderSize = 64;
        private const int SymbolSize = 24;
        private const int VerneedSize = 16;
        private const int VernauxSize = 16;

        /// <summary>Paths where the system libstdc++ commonly lives, in rough loader-preference order.</summary>
        public static readonly string[] SystemLibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
            "/lib/libstdc++.so.6",
        };

        private sealed class Section
        {
            public int Index;
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public long EntSize;
        }

        /// <summary>
        /// Marks the Vernaux entry named <paramref name="versionName"/> as weak, if and only if every
        /// dynamic symbol bound to it is in <paramref name="allowedSymbols"/>, undefined, and referenced
        /// by no relocation. Never modifies <paramref name="elf"/>; a patched copy is returned.
        /// </summary>
        public static ElfPatchResult Patch(byte[] elf, string versionName = DefaultVersionName, IEnumerable<string>? allowedSymbols = null)
        {
            if (elf == null) throw new ArgumentNullException(nameof(elf));
            if (string.IsNullOrEmpty(versionName)) throw new ArgumentException("A version name is required.", nameof(versionName));
            var allowed = new HashSet<string>(allowedSymbols ?? DefaultAllowedSymbols, StringComparer.Ordinal);

            try
            {
                return PatchCore(elf, versionName, allowed);
            }
            catch (ElfFormatException ex)
            {
                return new ElfPatchResult(ElfPatchStatus.Refused, "malformed ELF: " + ex.Message);
            }
        }

        private static ElfPatchResult PatchCore(byte[] elf, string versionName, HashSet<string> allowed)
        {
            // ---- ELF header -------------------------------------------------------------------
            if (elf.Length < 16 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                return new ElfPatchResult(ElfPatchStatus.NotElf, "no ELF magic");
            if (elf[4] != 2) return new ElfPatchResult(ElfPatchStatus.NotElf, "not a 64-bit ELF file (EI_CLASS=" + elf[4] + ")");
            if (elf[5] != 1) return new ElfPatchResult(ElfPatchStatus.NotElf, "not a little-endian ELF file (EI_DATA=" + elf[5] + ")");
            if (elf.Length < ElfHeaderSize) return new ElfPatchResult(ElfPatchStatus.NotElf, "truncated ELF header");

            long shoff = ReadI64(elf, 0x28);
            int shentsize = ReadU16(elf, 0x3A);
            long shnum = ReadU16(elf, 0x3C);
            if (shoff == 0) return new ElfPatchResult(ElfPatchStatus.Refused, "the file has no section headers");
            if (shentsize != SectionHeaderSize) throw new ElfFormatException("unexpected e_shentsize " + shentsize);
            CheckRange(elf, shoff, SectionHeaderSize, "section header table");
            if (shnum == 0) shnum = ReadI64(elf, shoff + 0x20); // extended numbering: count in section 0's sh_size
            if (shnum <= 0 || shnum > 65536 * 16) throw new ElfFormatException("implausible section count " + shnum);
            CheckRange(elf, shoff, shnum * SectionHeaderSize, "section header table");

            var sections = new List<Section>((int)shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * SectionHeaderSize;
                var s = new Section
                {
                    Index = i,
                    Type = ReadU32(elf, h + 0x04),
                    Offset = ReadI64(elf, h + 0x18),
                    Size = ReadI64(elf, h + 0x20),
                    Link = ReadU32(elf, h + 0x28),
                    EntSize = ReadI64(elf, h + 0x38),
                };
                sections.Add(s);
            }

            // ---- locate the relevant sections ---------------------------------------------------
            Section? verneed = FindSingle(sections, ShtGnuVerneed, ".gnu.version_r");
            if (verneed == null) return new ElfPatchResult(ElfPatchStatus.NotNeeded, "no .gnu.version_r section (no version needs)");
            Section? dynsym = FindSingle(sections, ShtDynsym, ".dynsym");
            if (dynsym == null) throw new ElfFormatException("no .dynsym section");
            Section? versym = FindSingle(sections, ShtGnuVersym, ".gnu.version");
            if (versym == null) throw new ElfFormatException("no .gnu.version section");

            Section verneedStr = SectionAt(sections, verneed.Link, ".gnu.version_r sh_link");
            Section dynsymStr = SectionAt(sections, dynsym.Link, ".dynsym sh_link");
            if (versym.Link != dynsym.Index) throw new ElfFormatException(".gnu.version is not linked to .dynsym");
            CheckRange(elf, verneed.Offset, verneed.Size, ".gnu.version_r");
            CheckRange(elf, dynsym.Offset, dynsym.Size, ".dynsym");
            CheckRange(elf, versym.Offset, versym.Size, ".gnu.version");
            CheckRange(elf, verneedStr.Offset, verneedStr.Size, ".dynstr");
            CheckRange(elf, dynsymStr.Offset, dynsymStr.Size, ".dynstr");

            // ---- find the Vernaux entry ---------------------------------------------------------
            long auxOffset = -1;
            int matches = 0;
            long vn = verneed.Offset;
            long verneedEnd = verneed.Offset + verneed.Size;
            for (int guard = 0; ; guard++)
            {
                if (guard > 100000) throw new ElfFormatException("verneed chain does not terminate");
                if (vn < verneed.Offset || vn + VerneedSize > verneedEnd) throw new ElfFormatException("Verneed entry outside .gnu.version_r");
                int cnt = ReadU16(elf, vn + 2);
                uint vnAux = ReadU32(elf, vn + 8);
                uint vnNext = ReadU32(elf, vn + 12);
                long aux = vn + vnAux;
                for (int j = 0; j < cnt; j++)
                {
                    if (aux < verneed.Offset || aux + VernauxSize > verneedEnd) throw new ElfFormatException("Vernaux entry outside .gnu.version_r");
                    uint nameOff = ReadU32(elf, aux + 8);
                    if (ReadString(elf, verneedStr, nameOff) == versionName)
                    {
                        matches++;
                        auxOffset = aux;
                    }
                    uint vnaNext = ReadU32(elf, aux + 12);
                    if (vnaNext == 0) break;
                    aux += vnaNext;
                }
                if (vnNext == 0) break;
                vn += vnNext;
            }

            if (matches == 0) return new ElfPatchResult(ElfPatchStatus.NotNeeded, "no version need named " + versionName);
            if (matches > 1) return new ElfPatchResult(ElfPatchStatus.Refused, "more than one version need named " + versionName);

            long flagsOffset = auxOffset + 4;
            int flags = ReadU16(elf, flagsOffset);
            int versionIndex = ReadU16(elf, auxOffset + 6); // vna_other
            if ((flags & VerFlagWeak) != 0)
                return new ElfPatchResult(ElfPatchStatus.AlreadyPatched, versionName + " is already a weak version need", null, flagsOffset, flags, flags);
            if (versionIndex < 2) throw new ElfFormatException("vna_other of " + versionName + " is " + versionIndex);

            // ---- which dynamic symbols are bound to that version? -------------------------------
            if (dynsym.EntSize != SymbolSize) throw new ElfFormatException("unexpected .dynsym sh_entsize " + dynsym.EntSize);
            if (dynsym.Size % SymbolSize != 0) throw new ElfFormatException(".dynsym size is not a multiple of the symbol size");
            long symCount = dynsym.Size / SymbolSize;
            if (versym.Size != symCount * 2) throw new ElfFormatException(".gnu.version has " + versym.Size / 2 + " entries but .dynsym has " + symCount);

            var bound = new HashSet<long>();
            var boundNames = new List<string>();
            for (long i = 0; i < symCount; i++)
            {
                int v = ReadU16(elf, versym.Offset + i * 2) & 0x7fff; // bit 15 = hidden
                if (v != versionIndex) continue;
                long sym = dynsym.Offset + i * SymbolSize;
                string name = ReadString(elf, dynsymStr, ReadU32(elf, sym));
                int shndx = ReadU16(elf, sym + 6);
                if (!allowed.Contains(name))
                    return Refuse(versionName, "symbol '" + name + "' (dynsym #" + i + ") is bound to it and is not in the allow-list");
                if (shndx != 0)
                    return Refuse(versionName, "symbol '" + name + "' (dynsym #" + i + ") is bound to it but is defined (st_shndx=" + shndx + ")");
                bound.Add(i);
                boundNames.Add(name);
            }

            // ---- no relocation may refer to those symbols ---------------------------------------
            if (bound.Count > 0)
            {
                foreach (Section s in sections)
                {
                    if (s.Type != ShtRela && s.Type != ShtRel) continue;
                    // Relocation sections linked to another symbol table (.symtab) do not use dynsym indices.
                    if (s.Link != dynsym.Index && s.Link != 0) continue;
                    long entSize = s.Type == ShtRela ? 24 : 16;
                    if (s.EntSize != 0 && s.EntSize != entSize) throw new ElfFormatException("unexpected relocation entry size " + s.EntSize + " in section #" + s.Index);
                    CheckRange(elf, s.Offset, s.Size, "relocation section #" + s.Index);
                    for (long r = s.Offset; r + entSize <= s.Offset + s.Size; r += entSize)
                    {
                        long symIndex = (long)(ReadU64(elf, r + 8) >> 32);
                        if (bound.Contains(symIndex))
                            return Refuse(versionName, "a relocation in section #" + s.Index + " refers to symbol #" + symIndex);
                    }
                }
            }

            // ---- patch ----------------------------------------------------------------------------
            var copy = (byte[])elf.Clone();
            int newFlags = flags | VerFlagWeak;
            WriteU16(copy, flagsOffset, (ushort)newFlags);
            string who = boundNames.Count == 0 ? "no symbols" : string.Join(", ", boundNames.ToArray());
            return new ElfPatchResult(ElfPatchStatus.Patched,
                versionName + " marked weak (vna_flags 0x" + flags.ToString("x") + " -> 0x" + newFlags.ToString("x") + " at file offset 0x" + flagsOffset.ToString("x") + "; bound: " + who + ")",
                copy, flagsOffset, flags, newFlags);
        }

        private static ElfPatchResult Refuse(string versionName, string why) =>
            new ElfPatchResult(ElfPatchStatus.Refused, "not weakening " + versionName + ": " + why);

        /// <summary>
        /// Reads <paramref name="path"/>, patches it and, when the result is <see cref="ElfPatchStatus.Patched"/>,
        /// replaces the file atomically (see <see cref="ReplaceFileAtomically"/>). Otherwise the file is untouched.
        /// </summary>
        public static ElfPatchResult PatchFile(string path, string versionName = DefaultVersionName, IEnumerable<string>? allowedSymbols = null)
        {
            byte[] bytes = File.ReadAllBytes(path);
            ElfPatchResult result = Patch(bytes, versionName, allowedSymbols);
            if (result.Status == ElfPatchStatus.Patched && result.Bytes != null)
                ReplaceFileAtomically(path, result.Bytes);
            return result;
        }

        /// <summary>
        /// Replaces the content of <paramref name="path"/> with <paramref name="bytes"/> atomically: a temporary
        /// copy of the original is made in the same directory (File.Copy keeps the Unix file mode), its content is
        /// overwritten, the original's last-write time is copied onto it (so MSBuild's size+timestamp based
        /// "skip unchanged files" copies do not undo the patch), and it is renamed over the original. A new inode
        /// is created, so hard- or symbolic links to another copy (e.g. the NuGet cache) are never written through.
        /// </summary>
        public static void ReplaceFileAtomically(string path, byte[] bytes)
        {
            string fullPath = Path.GetFullPath(path);
            string dir = Path.GetDirectoryName(fullPath) ?? ".";
            string tmp = Path.Combine(dir, "." + Path.GetFileName(fullPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            DateTime lastWrite = File.GetLastWriteTimeUtc(fullPath);
            try
            {
                File.Copy(fullPath, tmp, false);
                using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    fs.SetLength(0);
                    fs.Write(bytes, 0, bytes.Length);
                    fs.Flush(true);
                }
#if NET7_0_OR_GREATER
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(tmp, File.GetUnixFileMode(fullPath));
#endif
                File.SetLastWriteTimeUtc(tmp, lastWrite);
#if NETCOREAPP3_0_OR_GREATER
                File.Move(tmp, fullPath, true);
#else
                // On Unix, File.Replace without a backup is a plain rename(2).
                File.Replace(tmp, fullPath, null);
#endif
            }
            catch
            {
                try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw;
            }
        }

        /// <summary>
        /// Whether the system's libstdc++.so.6 defines <paramref name="versionName"/>: the first existing file of
        /// <see cref="SystemLibStdCxxCandidates"/> is scanned for the NUL-delimited version string.
        /// Returns false when no libstdc++ is found.
        /// </summary>
        public static bool SystemLibStdCxxProvides(string versionName, out string? libraryPath)
        {
            libraryPath = null;
            foreach (string candidate in SystemLibStdCxxCandidates)
            {
                if (!File.Exists(candidate)) continue;
                libraryPath = candidate;
                return ContainsVersionString(File.ReadAllBytes(candidate), versionName);
            }
            return false;
        }

        /// <summary>True when <paramref name="data"/> contains "\0" + versionName + "\0".</summary>
        public static bool ContainsVersionString(byte[] data, string versionName)
        {
            byte[] raw = Encoding.ASCII.GetBytes(versionName);
            var needle = new byte[raw.Length + 2];
            Buffer.BlockCopy(raw, 0, needle, 1, raw.Length);
            for (int i = 0; i + needle.Length <= data.Length; i++)
            {
                if (data[i] != 0 || data[i + 1] != needle[1]) continue;
                int k = 2;
                while (k < needle.Length && data[i + k] == needle[k]) k++;
                if (k == needle.Length) return true;
            }
            return false;
        }

        // ---- little helpers ---------------------------------------------------------------------

        private sealed class ElfFormatException : Exception
        {
            public ElfFormatException(string message) : base(message) { }
        }

        private static Section? FindSingle(List<Section> sections, uint type, string what)
        {
            Section? found = null;
            foreach (Section s in sections)
            {
                if (s.Type != type) continue;
                if (found != null) throw new ElfFormatException("more than one " + what + " section");
                found = s;
            }
            return found;
        }

        private static Section SectionAt(List<Section> sections, uint index, string what)
        {
            if (index == 0 || index >= sections.Count) throw new ElfFormatException(what + " = " + index + " is not a valid section index");
            return sections[(int)index];
        }

        private static void CheckRange(byte[] data, long offset, long size, string what)
        {
            if (offset < 0 || size < 0 || offset > data.Length || size > data.Length - offset)
                throw new ElfFormatException(what + " lies outside the file");
        }

        private static string ReadString(byte[] data, Section strtab, uint offset)
        {
            if (offset >= strtab.Size) throw new ElfFormatException("string offset " + offset + " outside the string table");
            long start = strtab.Offset + offset;
            long end = start;
            long limit = strtab.Offset + strtab.Size;
            while (end < limit && data[end] != 0) end++;
            if (end == limit) throw new ElfFormatException("unterminated string in the string table");
            return Encoding.UTF8.GetString(data, (int)start, (int)(end - start));
        }

        private static int ReadU16(byte[] d, long o)
        {
            if (o < 0 || o + 2 > d.Length) throw new ElfFormatException("read past end of file at 0x" + o.ToString("x"));
            return d[o] | (d[o + 1] << 8);
        }

        private static uint ReadU32(byte[] d, long o)
        {
            if (o < 0 || o + 4 > d.Length) throw new ElfFormatException("read past end of file at 0x" + o.ToString("x"));
            return (uint)(d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24));
        }

        private static ulong ReadU64(byte[] d, long o) => ReadU32(d, o) | ((ulong)ReadU32(d, o + 4) << 32);

        private static long ReadI64(byte[] d, long o)
        {
            ulong v = ReadU64(d, o);
            if (v > long.MaxValue) throw new ElfFormatException("offset/size too large at 0x" + o.ToString("x"));
            return (long)v;
        }

        private static void WriteU16(byte[] d, long o, ushort v)
        {
            d[o] = (byte)(v & 0xff);
            d[o + 1] = (byte)(v >> 8);
        }
    }

#if !PHASEDDMD_NO_MSBUILD
    /// <summary>
    /// MSBuild task: weakens the GLIBCXX_3.4.32 version need of every libLibTorchSharp.so under
    /// <see cref="Directory"/> (build or publish output), so TorchSharp loads with an older libstdc++.
    /// </summary>
    public sealed class PatchLibTorchSharpForOldLibStdCxx : Microsoft.Build.Utilities.Task
    {
        private const string WarningCode = "PHASEDDMD001";

        /// <summary>Folder searched recursively for libLibTorchSharp.so.</summary>
        [Microsoft.Build.Framework.Required]
        public string Directory { get; set; } = "";

        /// <summary>auto (patch only when the system libstdc++ lacks the version), always, or never.</summary>
        public string Mode { get; set; } = "auto";

        /// <summary>The version need to weaken.</summary>
        public string VersionName { get; set; } = ElfVersionPatcher.DefaultVersionName;

        /// <summary>Symbols allowed to be bound to that version; empty = the default allow-list.</summary>
        public string[]? AllowedSymbols { get; set; }

        /// <summary>Files changed by this invocation.</summary>
        [Microsoft.Build.Framework.Output]
        public string[]? PatchedFiles { get; set; }

        public override bool Execute()
        {
            var patched = new List<string>();
            PatchedFiles = patched.ToArray();
            string mode = (Mode ?? "").Trim().ToLowerInvariant();
            if (mode.Length == 0) mode = "auto";
            if (mode != "auto" && mode != "always" && mode != "never")
            {
                Log.LogError("PhasedDmdPatchLibStdCxx must be 'auto', 'always' or 'never' (got '" + Mode + "').");
                return false;
            }
            if (mode == "never")
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "libstdc++ weak-version patch disabled (mode=never).");
                return true;
            }
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "libstdc++ weak-version patch skipped: not running on Linux.");
                return true;
            }
            if (string.IsNullOrEmpty(Directory) || !System.IO.Directory.Exists(Directory))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "libstdc++ weak-version patch: folder '" + Directory + "' does not exist.");
                return true;
            }

            var files = new List<string>(System.IO.Directory.EnumerateFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories));
            if (files.Count == 0) return true;

            string versionName = string.IsNullOrEmpty(VersionName) ? ElfVersionPatcher.DefaultVersionName : VersionName;
            if (mode == "auto")
            {
                string? lib;
                if (ElfVersionPatcher.SystemLibStdCxxProvides(versionName, out lib))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                        "libstdc++ weak-version patch not needed: " + lib + " provides " + versionName + ".");
                    return true;
                }
            }

            IEnumerable<string>? allowed = AllowedSymbols != null && AllowedSymbols.Length > 0 ? AllowedSymbols : null;
            foreach (string file in files)
            {
                ElfPatchResult result;
                try
                {
                    result = ElfVersionPatcher.PatchFile(file, versionName, allowed);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    Log.LogWarning(null, WarningCode, null, file, 0, 0, 0, 0,
                        "Could not patch " + file + " for the system libstdc++ (" + ex.Message + "); TorchSharp may fail to load.");
                    continue;
                }

                switch (result.Status)
                {
                    case ElfPatchStatus.Patched:
                        patched.Add(file);
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Patched " + file + ": " + result.Reason);
                        break;
                    case ElfPatchStatus.AlreadyPatched:
                    case ElfPatchStatus.NotNeeded:
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, file + ": " + result.Reason);
                        break;
                    default:
                        Log.LogWarning(null, WarningCode, null, file, 0, 0, 0, 0,
                            "Left " + file + " unchanged (" + result + "); TorchSharp may fail to load on this system's libstdc++.");
                        break;
                }
            }
            PatchedFiles = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
