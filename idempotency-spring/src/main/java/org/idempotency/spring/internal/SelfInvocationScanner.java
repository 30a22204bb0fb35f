package org.idempotency.spring.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.asm.ClassReader;
import org.springframework.asm.ClassVisitor;
import org.springframework.asm.Handle;
import org.springframework.asm.MethodVisitor;
import org.springframework.asm.Opcodes;
import org.springframework.asm.SpringAsmInfo;
import org.springframework.asm.Type;
import org.springframework.util.ClassUtils;

/**
 * Finds, in a class's bytecode, calls to its own {@code @Idempotent} methods on {@code this}: direct calls
 * ({@code create(x)}, {@code this.create(x)}) and method references bound to {@code this}
 * ({@code this::create}). Such calls reach the target object, not its proxy, so they are not idempotent.
 *
 * <p>It follows the operand stack of each method just enough to know whether the receiver of a call is
 * {@code this} (local variable 0 of an instance method), so that calls on another instance of the same class,
 * such as a self-reference injected into a field ({@code self.create(x)}), are not reported.
 */
final class SelfInvocationScanner {

    private static final Logger LOG = LoggerFactory.getLogger(SelfInvocationScanner.class);

    private SelfInvocationScanner() {
    }

    /**
     * Scans the class and its superclasses.
     *
     * @param type the user class
     * @param annotated its annotated methods
     * @return one description per self-invocation found, such as {@code OrderService.importAll calls create}
     */
    static List<String> scan(Class<?> type, Collection<Method> annotated) {
        Set<String> owners = new HashSet<>();
        List<Class<?>> hierarchy = new ArrayList<>();
        for (Class<?> current = type; current != null && current != Object.class; current = current.getSuperclass()) {
            hierarchy.add(current);
            owners.add(Type.getInternalName(current));
        }
        for (Class<?> implemented : ClassUtils.getAllInterfacesForClassAsSet(type)) {
            owners.add(Type.getInternalName(implemented));
        }
        Set<String> targets = new HashSet<>();
        for (Method method : annotated) {
            if (!Modifier.isStatic(method.getModifiers())) {
                targets.add(method.getName() + Type.getMethodDescriptor(method));
            }
        }
        Set<String> found = new LinkedHashSet<>();
        for (Class<?> current : hierarchy) {
            String resource = Type.getInternalName(current) + ".class";
            ClassLoader loader = current.getClassLoader() != null ? current.getClassLoader()
                    : ClassLoader.getSystemClassLoader();
            try (InputStream in = loader.getResourceAsStream(resource)) {
                if (in == null) {
                    LOG.debug("No bytecode found for {}; its self-invocations are not checked", current.getName());
                    continue;
                }
                new ClassReader(in).accept(new Visitor(current.getSimpleName(), owners, targets, found),
                        ClassReader.EXPAND_FRAMES | ClassReader.SKIP_DEBUG);
            } catch (IOException | RuntimeException e) {
                LOG.debug("Could not read the bytecode of {} to check its self-invocations: {}", current.getName(),
                        e.toString());
            }
        }
        return List.copyOf(found);
    }

    private static final class Visitor extends ClassVisitor {
        private final String className;
        private final Set<String> owners;
        private final Set<String> targets;
        private final Set<String> found;

        Visitor(String className, Set<String> owners, Set<String> targets, Set<String> found) {
            super(SpringAsmInfo.ASM_VERSION);
            this.className = className;
            this.owners = owners;
            this.targets = targets;
            this.found = found;
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                String[] exceptions) {
            if ((access & (Opcodes.ACC_STATIC | Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) != 0) {
                return null;
            }
            String caller = name.startsWith("lambda$") ? "a lambda in " + className : className + "." + name;
            return new StackFollower(caller);
        }

        /**
         * Follows the operand stack, one entry per slot (long and double take two), each entry telling whether
         * it is {@code this}. Frames (at branch targets and handlers) reset it to what they declare.
         */
        private final class StackFollower extends MethodVisitor {
            private final String caller;
            private final List<Boolean> stack = new ArrayList<>();

            StackFollower(String caller) {
                super(SpringAsmInfo.ASM_VERSION);
                this.caller = caller;
            }

            private void push(int slots, boolean self) {
                for (int i = 0; i < slots; i++) {
                    stack.add(self);
                }
            }

            private boolean pop(int slots) {
                boolean self = false;
                for (int i = 0; i < slots && !stack.isEmpty(); i++) {
                    self = stack.remove(stack.size() - 1);
                }
                return self;
            }

            private boolean peek(int depth) {
                int index = stack.size() - 1 - depth;
                return index >= 0 && stack.get(index);
            }

            @Override
            public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] frameStack) {
                stack.clear();
                for (int i = 0; i < numStack; i++) {
                    Object item = frameStack[i];
                    push(item == Opcodes.LONG || item == Opcodes.DOUBLE ? 2 : 1, false);
                }
            }

            @Override
            public void visitVarInsn(int opcode, int varIndex) {
                switch (opcode) {
                    case Opcodes.ALOAD -> push(1, varIndex == 0);
                    case Opcodes.ILOAD, Opcodes.FLOAD -> push(1, false);
                    case Opcodes.LLOAD, Opcodes.DLOAD -> push(2, false);
                    case Opcodes.ISTORE, Opcodes.FSTORE, Opcodes.ASTORE -> pop(1);
                    case Opcodes.LSTORE, Opcodes.DSTORE -> pop(2);
                    default -> { } // RET: nothing on the stack
                }
            }

            @Override
            public void visitInsn(int opcode) {
                switch (opcode) {
                    case Opcodes.NOP -> { }
                    case Opcodes.ACONST_NULL, Opcodes.ICONST_M1, Opcodes.ICONST_0, Opcodes.ICONST_1,
                            Opcodes.ICONST_2, Opcodes.ICONST_3, Opcodes.ICONST_4, Opcodes.ICONST_5,
                            Opcodes.FCONST_0, Opcodes.FCONST_1, Opcodes.FCONST_2 -> push(1, false);
                    case Opcodes.LCONST_0, Opcodes.LCONST_1, Opcodes.DCONST_0, Opcodes.DCONST_1 -> push(2, false);
                    case Opcodes.IALOAD, Opcodes.FALOAD, Opcodes.AALOAD, Opcodes.BALOAD, Opcodes.CALOAD,
                            Opcodes.SALOAD -> effect(2, 1);
                    case Opcodes.LALOAD, Opcodes.DALOAD -> effect(2, 2);
                    case Opcodes.IASTORE, Opcodes.FASTORE, Opcodes.AASTORE, Opcodes.BASTORE, Opcodes.CASTORE,
                            Opcodes.SASTORE -> pop(3);
                    case Opcodes.LASTORE, Opcodes.DASTORE -> pop(4);
                    case Opcodes.POP -> pop(1);
                    case Opcodes.POP2 -> pop(2);
                    case Opcodes.DUP -> push(1, peek(0));
                    case Opcodes.DUP_X1 -> insertCopies(1, 1);
                    case Opcodes.DUP_X2 -> insertCopies(1, 2);
                    case Opcodes.DUP2 -> insertCopies(2, 0);
                    case Opcodes.DUP2_X1 -> insertCopies(2, 1);
                    case Opcodes.DUP2_X2 -> insertCopies(2, 2);
                    case Opcodes.SWAP -> {
                        boolean top = pop(1);
                        boolean below = pop(1);
                        push(1, top);
                        push(1, below);
                    }
                    case Opcodes.IADD, Opcodes.ISUB, Opcodes.IMUL, Opcodes.IDIV, Opcodes.IREM, Opcodes.ISHL,
                            Opcodes.ISHR, Opcodes.IUSHR, Opcodes.IAND, Opcodes.IOR, Opcodes.IXOR, Opcodes.FADD,
                            Opcodes.FSUB, Opcodes.FMUL, Opcodes.FDIV, Opcodes.FREM, Opcodes.FCMPL,
                            Opcodes.FCMPG -> effect(2, 1);
                    case Opcodes.LADD, Opcodes.LSUB, Opcodes.LMUL, Opcodes.LDIV, Opcodes.LREM, Opcodes.LAND,
                            Opcodes.LOR, Opcodes.LXOR, Opcodes.DADD, Opcodes.DSUB, Opcodes.DMUL, Opcodes.DDIV,
                            Opcodes.DREM -> effect(4, 2);
                    case Opcodes.LSHL, Opcodes.LSHR, Opcodes.LUSHR -> effect(3, 2);
                    case Opcodes.LCMP, Opcodes.DCMPL, Opcodes.DCMPG -> effect(4, 1);
                    case Opcodes.INEG, Opcodes.FNEG, Opcodes.I2F, Opcodes.F2I, Opcodes.I2B, Opcodes.I2C,
                            Opcodes.I2S, Opcodes.ARRAYLENGTH -> effect(1, 1);
                    case Opcodes.LNEG, Opcodes.DNEG, Opcodes.L2D, Opcodes.D2L -> effect(2, 2);
                    case Opcodes.I2L, Opcodes.I2D, Opcodes.F2L, Opcodes.F2D -> effect(1, 2);
                    case Opcodes.L2I, Opcodes.L2F, Opcodes.D2I, Opcodes.D2F -> effect(2, 1);
                    case Opcodes.MONITORENTER, Opcodes.MONITOREXIT -> pop(1);
                    default -> stack.clear(); // returns and athrow end the path; the next frame says what follows
                }
            }

            private void effect(int pops, int pushes) {
                pop(pops);
                push(pushes, false);
            }

            /** The DUP family: copies the top {@code copied} slots below the {@code skipped} slots under them. */
            private void insertCopies(int copied, int skipped) {
                int size = stack.size();
                if (size < copied + skipped) {
                    stack.clear();
                    return;
                }
                List<Boolean> top = new ArrayList<>(stack.subList(size - copied, size));
                stack.addAll(size - copied - skipped, top);
            }

            @Override
            public void visitIntInsn(int opcode, int operand) {
                if (opcode == Opcodes.NEWARRAY) {
                    effect(1, 1);
                } else {
                    push(1, false); // BIPUSH, SIPUSH
                }
            }

            @Override
            public void visitTypeInsn(int opcode, String type) {
                switch (opcode) {
                    case Opcodes.NEW -> push(1, false);
                    case Opcodes.CHECKCAST -> push(1, pop(1)); // a cast of this is still this
                    default -> effect(1, 1); // ANEWARRAY, INSTANCEOF
                }
            }

            @Override
            public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
                int size = Type.getType(descriptor).getSize();
                switch (opcode) {
                    case Opcodes.GETSTATIC -> push(size, false);
                    case Opcodes.PUTSTATIC -> pop(size);
                    case Opcodes.GETFIELD -> effect(1, size);
                    default -> pop(size + 1); // PUTFIELD
                }
            }

            @Override
            public void visitMethodInsn(int opcode, String owner, String name, String descriptor,
                    boolean isInterface) {
                int sizes = Type.getArgumentsAndReturnSizes(descriptor);
                pop((sizes >> 2) - 1);
                if (opcode != Opcodes.INVOKESTATIC) {
                    boolean onThis = pop(1);
                    if (onThis && owners.contains(owner) && targets.contains(name + descriptor)
                            && !"<init>".equals(name)) {
                        found.add(caller + " calls " + name);
                    }
                }
                push(sizes & 0x03, false);
            }

            @Override
            public void visitInvokeDynamicInsn(String name, String descriptor, Handle bootstrapMethodHandle,
                    Object... bootstrapMethodArguments) {
                Type[] captured = Type.getArgumentTypes(descriptor);
                boolean capturesThis = captured.length > 0
                        && peek(stackSlots(captured) - captured[0].getSize());
                for (Object argument : bootstrapMethodArguments) {
                    if (argument instanceof Handle handle && capturesThis && owners.contains(handle.getOwner())
                            && targets.contains(handle.getName() + handle.getDesc())
                            && handle.getTag() != Opcodes.H_INVOKESTATIC) {
                        found.add(caller + " passes this::" + handle.getName());
                    }
                }
                pop(stackSlots(captured));
                push(Type.getReturnType(descriptor).getSize(), false);
            }

            private int stackSlots(Type[] types) {
                int slots = 0;
                for (Type type : types) {
                    slots += type.getSize();
                }
                return slots;
            }

            @Override
            public void visitJumpInsn(int opcode, org.springframework.asm.Label label) {
                switch (opcode) {
                    case Opcodes.IFEQ, Opcodes.IFNE, Opcodes.IFLT, Opcodes.IFGE, Opcodes.IFGT, Opcodes.IFLE,
                            Opcodes.IFNULL, Opcodes.IFNONNULL -> pop(1);
                    case Opcodes.GOTO -> stack.clear();
                    case Opcodes.JSR -> push(1, false);
                    default -> pop(2); // IF_ICMPxx, IF_ACMPxx
                }
            }

            @Override
            public void visitLdcInsn(Object value) {
                push(value instanceof Long || value instanceof Double ? 2 : 1, false);
            }

            @Override
            public void visitTableSwitchInsn(int min, int max, org.springframework.asm.Label dflt,
                    org.springframework.asm.Label... labels) {
                stack.clear();
            }

            @Override
            public void visitLookupSwitchInsn(org.springframework.asm.Label dflt, int[] keys,
                    org.springframework.asm.Label[] labels) {
                stack.clear();
            }

            @Override
            public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
                effect(numDimensions, 1);
            }
        }
    }
}
