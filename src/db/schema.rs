// Written by hand to match migrations/{sqlite,postgres}; tests/schema.rs keeps the three in step.

diesel::table! {
    contacts (id) {
        id -> Text,
        phone -> Text,
        language -> Text,
        language_chosen -> Bool,
        opted_out -> Bool,
        opt_changed_at -> Nullable<Timestamp>,
        opt_changed_via -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        channel_id -> Text,
        direction -> Text,
        contact_id -> Text,
        phone -> Text,
        our_number -> Nullable<Text>,
        body -> Text,
        encoding -> Text,
        segments -> Integer,
        gateway_id -> Nullable<Text>,
        status -> Text,
        priority -> Integer,
        kind -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    message_events (id) {
        id -> Text,
        message_id -> Text,
        status -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> contacts (contact_id));
diesel::joinable!(message_events -> messages (message_id));
diesel::allow_tables_to_appear_in_same_query!(contacts, messages, message_events);
