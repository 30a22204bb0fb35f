package org.idempotency.core;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyListener;

/** Keeps every event, for tests. */
final class RecordingListener implements IdempotencyListener {

    final List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(IdempotencyEvent event) {
        events.add(event);
    }

    List<IdempotencyEvent.Type> types() {
        return events.stream().map(IdempotencyEvent::type).toList();
    }

    long count(IdempotencyEvent.Type type) {
        return events.stream().filter(event -> event.type() == type).count();
    }
}
